/* SPDX-License-Identifier: MIT */
/* The walker stamped out for ARM LPAE stage 1. */
#include "pt/fmt/arm_s1.h"
#define PT_OPS_NAME pt_arm_s1_ops
#include "pt/walker.h"
