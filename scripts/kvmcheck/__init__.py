# SPDX-License-Identifier: GPL-2.0-only
"""kvmcheck's orchestration: kernels, QEMU runs, the matrix, review and bisect (docs/ORCHESTRATION.md)."""
