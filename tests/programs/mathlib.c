/* The math library.
 *
 * glibc and wasi-libc (musl) implement libm differently; both are accurate
 * to about an ulp, not always to the same ulp. So the transcendental
 * functions are printed with 10 significant digits, far coarser than an
 * ulp (inputs were chosen so no result sits on a rounding boundary of the
 * 10th digit), and the functions that IEEE 754 requires to be exact
 * (sqrt, fma, floor, fmod, rint, ldexp, ...) with all 17. Any NaN is
 * printed as "nan": wasm does not specify the sign of a computed NaN.
 *
 *   mathlib [N]      also sum each function over N points (default 20000) */
#include "common.h"

#include <float.h>
#include <math.h>

static void p10(const char *name, double x, double y)
{
	if (isnan(y))
		printf("%s(%g) = nan\n", name, x);
	else
		printf("%s(%g) = %.10g\n", name, x, y);
}

static void p17(const char *name, double x, double y)
{
	if (isnan(y))
		printf("%s(%.17g) = nan\n", name, x);
	else
		printf("%s(%.17g) = %.17g\n", name, x, y);
}

/* Inputs read through a volatile array so clang cannot constant-fold the
 * calls at compile time (which would test clang, not the engine). */
static volatile double in[] = {
	-7.25, -2.5, -1.0, -0.5, -0.0, 0.0,  0.1,   0.5,
	0.75,  1.0,  1.5,  2.0,	 3.0,  10.0, 100.5, 1234.5678,
};
#define N_IN (sizeof in / sizeof in[0])

typedef double (*F1)(double);
static const struct {
	const char *name;
	F1 f;
	double lo, hi; /* domain for the printed table */
} f1[] = {
	{"sin", sin, -1e9, 1e9},       {"cos", cos, -1e9, 1e9},
	{"tan", tan, -1e9, 1e9},       {"asin", asin, -1, 1},
	{"acos", acos, -1, 1},	       {"atan", atan, -1e9, 1e9},
	{"sinh", sinh, -50, 50},       {"cosh", cosh, -50, 50},
	{"tanh", tanh, -50, 50},       {"exp", exp, -700, 700},
	{"exp2", exp2, -1000, 1000},   {"expm1", expm1, -50, 50},
	{"log", log, 0, 1e300},	       {"log2", log2, 0, 1e300},
	{"log10", log10, 0, 1e300},    {"log1p", log1p, -1, 1e300},
	{"cbrt", cbrt, -1e300, 1e300}, {"asinh", asinh, -1e9, 1e9},
	{"atanh", atanh, -1, 1},
};

static void transcendental(void)
{
	puts("== transcendental (10 digits)");
	for (size_t i = 0; i < sizeof f1 / sizeof f1[0]; i++)
		for (size_t j = 0; j < N_IN; j++) {
			double x = in[j];
			if (x >= f1[i].lo && x <= f1[i].hi)
				p10(f1[i].name, x, f1[i].f(x));
		}
	static const double pw[][2] = {
		{2, 10},       {2, 0.5},    {10, -3},	     {-2, 3},
		{-8, 1.0 / 3}, {0, 0},	    {1.0001, 10000}, {2.5, 3.5},
		{0, -1},       {-0.0, -3},  {1, 1e300},	     {1e10, 30},
		{0.5, 1074},   {-1, 1e300},
	};
	for (size_t i = 0; i < sizeof pw / sizeof pw[0]; i++) {
		volatile double a = pw[i][0], b = pw[i][1];
		double r = pow(a, b);
		if (isnan(r))
			printf("pow(%g, %g) = nan\n", a, b);
		else
			printf("pow(%g, %g) = %.10g\n", a, b, r);
	}
	volatile double y = 1.0, x = -1.0;
	printf("atan2: %.10g %.10g %.10g %.10g %.10g\n", atan2(y, x),
	       atan2(-y, x), atan2(0.0 * y, x), atan2(-0.0 * y, x),
	       atan2(y, 0.0));
	printf("hypot(3,4)=%.10g hypot(1e300,1e300)=%.10g\n",
	       hypot(3 * y, 4 * y), hypot(1e300 * y, 1e300 * y));
	printf("float: sinf=%.6g expf=%.6g logf=%.6g powf=%.6g sqrtf=%.9g\n",
	       sinf(0.5f * (float)y), expf(1.5f * (float)y),
	       logf(10.0f * (float)y), powf(1.5f * (float)y, 2.5f),
	       sqrtf(2.0f * (float)y));
}

static void exact(void)
{
	puts("== exact (17 digits)");
	for (size_t j = 0; j < N_IN; j++) {
		double x = in[j];
		p17("sqrt", x, sqrt(x));
		printf("  floor=%g ceil=%g round=%g trunc=%g rint=%g "
		       "nearbyint=%g "
		       "lround=%ld llround=%lld fabs=%g\n",
		       floor(x), ceil(x), round(x), trunc(x), rint(x),
		       nearbyint(x), lround(x), llround(x), fabs(x));
		int e;
		double m = frexp(x, &e);
		double ip, fp = modf(x, &ip);
		printf("  frexp=%.17g,%d modf=%.17g,%.17g ldexp(x,-3)=%.17g "
		       "copysign(3,x)=%g\n",
		       m, e, fp, ip, ldexp(x, -3), copysign(3.0, x));
	}
	volatile double a = 10.5, b = 3.0, c = -7.25, d = 0.1;
	printf("fmod: %.17g %.17g %.17g %.17g\n", fmod(a, b), fmod(c, b),
	       fmod(a, -b), fmod(1e20 * d, 3.0));
	printf("remainder: %.17g %.17g remquo-free\n", remainder(a, b),
	       remainder(c, b));
	printf("fma(0.1,10,-1) = %.17g (exactly rounded, not 0)\n",
	       fma(d, 10.0, -1.0));
	printf("fmin/fmax: %g %g %g %g\n", fmin(a, c), fmax(a, c), fmin(NAN, a),
	       fmax(c, NAN));
	printf("rint ties to even: %g %g %g %g\n", rint(0.5 + d - d),
	       rint(1.5 + d - d), rint(2.5 + d - d), rint(-2.5 + d - d));
	printf("sqrt(2)=%.17g sqrt(1e-300)=%.17g sqrt(DBL_MAX)=%.17g\n",
	       sqrt(2.0 * b / 3.0), sqrt(1e-300 * b / 3.0),
	       sqrt(DBL_MAX * (b / 3.0)));
	printf("nextafter(1,2)-1 = %.17g, DBL_EPSILON = %.17g\n",
	       nextafter(1.0 * b / 3.0, 2.0) - 1.0, DBL_EPSILON);
	printf("ilogb(1000)=%d logb(1000)=%g scalbn(1,-1074)=%.17g\n",
	       ilogb(1000 * b / 3), logb(1000 * b / 3), scalbn(b / 3, -1074));
}

/* Sums of many evaluations: a wrong answer anywhere in the range moves
 * the sum, and 10 digits of a sum still agree across ulp differences. */
static void sums(int n)
{
	puts("== sums over a range");
	double s_sin = 0, s_exp = 0, s_log = 0, s_pow = 0, s_sqrt = 0,
	       s_atan = 0;
	for (int i = 1; i <= n; i++) {
		double x = (double)i / n;
		s_sin += sin(x * 100);
		s_exp += exp(x * 10);
		s_log += log(x * 1000);
		s_pow += pow(x + 0.5, 3.7);
		s_sqrt += sqrt(x * i);
		s_atan += atan(x * 20 - 10);
	}
	printf("n=%d sin %.10g exp %.10g log %.10g\n", n, s_sin, s_exp, s_log);
	printf("pow %.10g sqrt %.10g atan %.10g\n", s_pow, s_sqrt, s_atan);
}

static void integers(void)
{
	puts("== integer helpers");
	div_t q = div(-17, 5);
	lldiv_t lq = lldiv(-9000000000000000007LL, 1000000007LL);
	printf("div(-17,5) = %d r %d; lldiv = %lld r %lld; abs=%d llabs=%lld\n",
	       q.quot, q.rem, lq.quot, lq.rem, abs(-5), llabs(-5000000000LL));
}

int main(int argc, char **argv)
{
	transcendental();
	exact();
	sums(argc > 1 ? atoi(argv[1]) : 20000);
	integers();
	return 0;
}
