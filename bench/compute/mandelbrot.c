/*
 * Mandelbrot set escape counts over a grid: a tight f64 multiply-add loop
 * with a data-dependent exit, no memory traffic at all.
 */
#include "kernel.h"

KERNEL_INPUT int32_t mb_size = KERNEL_SIZE(1860, 900); /* grid is size x size */
KERNEL_INPUT int32_t mb_iters = 500; /* iteration cap per point */

KERNEL_EXPORT int32_t run(void)
{
	int32_t size = mb_size, iters = mb_iters;
	uint32_t sum = 0;
	for (int32_t py = 0; py < size; py++) {
		/* Window [-2, 0.5] x [-1.25, 1.25]: the whole set. */
		double ci = -1.25 + 2.5 * py / size;
		for (int32_t px = 0; px < size; px++) {
			double cr = -2.0 + 2.5 * px / size;
			double zr = 0, zi = 0;
			int32_t k = 0;
			while (k < iters && zr * zr + zi * zi <= 4.0) {
				double t = zr * zr - zi * zi + cr;
				zi = 2.0 * zr * zi + ci;
				zr = t;
				k++;
			}
			sum = sum * 33 + (uint32_t)k;
		}
	}
	return (int32_t)sum;
}
