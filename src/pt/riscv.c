/* SPDX-License-Identifier: MIT */
/* The walker stamped out for RISC-V Sv39/48/57. */
#include "pt/fmt/riscv.h"
#define PT_OPS_NAME pt_riscv_ops
#include "pt/walker.h"
