/* SPDX-License-Identifier: MIT */
/* Test fixture (see ../../README.md): <linux/iommufd.h> with the 6.2 commands only. */
#ifndef _IOMMUFD_H
#define _IOMMUFD_H
#define FIXTURE_KERNEL 602
#include "../../iommufd-6.2-body.h"
#endif
