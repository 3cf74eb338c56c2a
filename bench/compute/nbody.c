/*
 * Double-precision n-body simulation (symplectic Euler, all pairs): f64
 * arithmetic, sqrt and division with array-of-struct loads and stores.
 *
 * The initial system is generated, not taken from anywhere: a heavy body at
 * the origin and light ones on roughly circular orbits. Every input is an
 * exact small-integer ratio, and IEEE-754 add/mul/div/sqrt are correctly
 * rounded both natively (x86-64 SSE2, no FMA contraction without -mfma) and
 * in wasm, so the final state is bit-identical everywhere.
 */
#include <math.h>
#include <string.h>

#include "kernel.h"

#define NB_BODIES 8

KERNEL_INPUT uint32_t nb_steps = KERNEL_SIZE(12000000, 2000000);
KERNEL_INPUT uint64_t nb_seed = 7;

struct body {
	double x, y, z, vx, vy, vz, mass;
};

static struct body bodies[NB_BODIES];

static void init(uint64_t seed)
{
	bodies[0] = (struct body){0, 0, 0, 0, 0, 0, 1000.0};
	for (int i = 1; i < NB_BODIES; i++) {
		double r = 2.0 + i + (lcg_next(&seed) % 1000) / 1000.0;
		double tilt = ((int32_t)(lcg_next(&seed) % 200) - 100) / 1000.0;
		/* Circular-orbit speed around the central mass: v =
		 * sqrt(G*M/r). */
		double v = sqrt(1000.0 / r);
		bodies[i] = (struct body){r,
					  0,
					  tilt,
					  0,
					  v,
					  0,
					  (1 + lcg_next(&seed) % 10) / 100.0};
	}
	/* Give the central body the opposite momentum so the system's centre
	   of mass stays put rather than drifting out of the region simulated.
	 */
	double px = 0, py = 0, pz = 0;
	for (int i = 1; i < NB_BODIES; i++) {
		px += bodies[i].vx * bodies[i].mass;
		py += bodies[i].vy * bodies[i].mass;
		pz += bodies[i].vz * bodies[i].mass;
	}
	bodies[0].vx = -px / bodies[0].mass;
	bodies[0].vy = -py / bodies[0].mass;
	bodies[0].vz = -pz / bodies[0].mass;
}

static void advance(double dt)
{
	for (int i = 0; i < NB_BODIES; i++) {
		struct body *bi = &bodies[i];
		for (int j = i + 1; j < NB_BODIES; j++) {
			struct body *bj = &bodies[j];
			double dx = bi->x - bj->x, dy = bi->y - bj->y,
			       dz = bi->z - bj->z;
			double d2 = dx * dx + dy * dy + dz * dz;
			double mag = dt / (d2 * sqrt(d2));
			bi->vx -= dx * bj->mass * mag;
			bi->vy -= dy * bj->mass * mag;
			bi->vz -= dz * bj->mass * mag;
			bj->vx += dx * bi->mass * mag;
			bj->vy += dy * bi->mass * mag;
			bj->vz += dz * bi->mass * mag;
		}
	}
	for (int i = 0; i < NB_BODIES; i++) {
		bodies[i].x += dt * bodies[i].vx;
		bodies[i].y += dt * bodies[i].vy;
		bodies[i].z += dt * bodies[i].vz;
	}
}

static double energy(void)
{
	double e = 0;
	for (int i = 0; i < NB_BODIES; i++) {
		const struct body *bi = &bodies[i];
		e += 0.5 * bi->mass *
		     (bi->vx * bi->vx + bi->vy * bi->vy + bi->vz * bi->vz);
		for (int j = i + 1; j < NB_BODIES; j++) {
			const struct body *bj = &bodies[j];
			double dx = bi->x - bj->x, dy = bi->y - bj->y,
			       dz = bi->z - bj->z;
			e -= bi->mass * bj->mass /
			     sqrt(dx * dx + dy * dy + dz * dz);
		}
	}
	return e;
}

/* The exact bits, so that a last-place rounding difference is caught. */
static uint64_t bits(double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof u);
	return u;
}

KERNEL_EXPORT int64_t run(void)
{
	uint32_t steps = nb_steps;
	init(nb_seed);
	uint64_t h = bits(energy());
	for (uint32_t s = 0; s < steps; s++)
		advance(0.0001);
	h = h * 31 + bits(energy());
	for (int i = 0; i < NB_BODIES; i++)
		h = h * 31 + (bits(bodies[i].x) ^ bits(bodies[i].vy));
	return (int64_t)h;
}
