/* SPDX-License-Identifier: MIT */
/* The walker stamped out for Intel VT-d second stage. */
#include "pt/fmt/vtdss.h"
#define PT_OPS_NAME pt_vtdss_ops
#include "pt/walker.h"
