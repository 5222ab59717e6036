/* SPDX-License-Identifier: MIT */
/* The walker stamped out for AMD IOMMU v1. */
#include "pt/fmt/amdv1.h"
#define PT_OPS_NAME pt_amdv1_ops
#include "pt/walker.h"
