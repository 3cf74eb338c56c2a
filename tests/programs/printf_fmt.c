/* printf of integers and floating point in many formats.
 *
 * Formatting is all libc (glibc natively, wasi-libc on wasm), but the
 * values go through the wasm engine's i64 arithmetic, f64 bit patterns,
 * conversions and varargs (a wasm32 va_list is a pointer into linear
 * memory): a wrong f64 reinterpretation, sign extension or NaN handling
 * shows up here as a different digit. Only values both libraries print
 * exactly are used: finite doubles are printed exactly by both (they
 * round correctly, ties to even), long double is avoided (x87 80-bit
 * natively, IEEE quad on wasm32), and the sign of a NaN produced by
 * arithmetic is not printed because wasm leaves it unspecified. */
#include "common.h"

#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

/* Opaque to the optimizer, so the values are computed at run time by the
 * engine rather than folded by clang into constant strings. */
static volatile double vd[] = {
	0.0,
	1.0,
	-1.0,
	0.1,
	0.5,
	1.5,
	2.5,
	-2.5,
	2.675,
	1e-5,
	123456.789,
	1e15,
	1e16,
	1e21,
	1e22,
	1e100,
	1e300,
	6.02214076e23,
	3.141592653589793,
	2.718281828459045,
	1.0 / 3.0,
	2.0 / 3.0,
	9007199254740993.0,
	0.000123456789,
	5e-324,
	2.2250738585072014e-308,
	1.7976931348623157e308,
};
static volatile long long vll[] = {
	0,
	1,
	-1,
	42,
	-42,
	127,
	128,
	255,
	256,
	65535,
	65536,
	2147483647LL,
	-2147483648LL,
	4294967295LL,
	4294967296LL,
	LLONG_MAX,
	LLONG_MIN,
	1000000007LL,
	-999999999999LL,
	0x0123456789abcdefLL,
};

static void integers(void)
{
	puts("== integers");
	for (size_t i = 0; i < sizeof vll / sizeof vll[0]; i++) {
		long long v = vll[i];
		int iv = (int)v;
		unsigned uv = (unsigned)v;
		printf("%d|%i|%u|%x|%X|%o|%#x|%#o|%+d|% d|%8d|%-8d|%08d|%.3d\n",
		       iv, iv, uv, uv, uv, uv, uv, uv, iv, iv, iv, iv, iv, iv);
		printf("%lld|%llu|%llx|%#llX|%llo|%+lld|%25lld|%-25lld|%"
		       "025lld\n",
		       v, (unsigned long long)v, (unsigned long long)v,
		       (unsigned long long)v, (unsigned long long)v, v, v, v,
		       v);
		printf("%hhd|%hhu|%hd|%hu|%ld|%jd|%zu|%td|%" PRId64 "|%" PRIx32
		       "\n",
		       (signed char)v, (unsigned char)v, (short)v,
		       (unsigned short)v, (long)iv, (intmax_t)v, (size_t)uv,
		       (ptrdiff_t)iv, (int64_t)v, (uint32_t)v);
	}
	printf("%d %d %u %lld %llu\n", INT_MAX, INT_MIN, UINT_MAX, LLONG_MIN,
	       ULLONG_MAX);
	printf("[%c%c%c] [%5c] [%-5c]\n", 'a', 'B', '0', 'x', 'y');
	printf("[%s] [%10s] [%-10s] [%.3s] [%*s] [%-*.*s] [%%]\n", "str",
	       "right", "left", "truncated", 6, "star", 8, 2, "precision");
	printf("[%.0d] [%.0x] [%#.0o] [%5.0d]\n", 0, 0, 0, 0);
}

static void floats(void)
{
	puts("== floats");
	for (size_t i = 0; i < sizeof vd / sizeof vd[0]; i++) {
		double d = vd[i];
		printf("%.17g|%g|%e|%.3e|%G|%E\n", d, d, d, d, d, d);
		if (fabs(d) < 1e25)
			printf("  "
			       "%f|%.0f|%.1f|%.2f|%.10f|%12.4f|%-12.3f|%+.2f|%"
			       "012.3f\n",
			       d, d, d, d, d, d, d, d, d);
		printf("  %.0e|%#.0e|%#g|%.1g|%.30g", d, d, d, d, d);
		/* glibc and musl write subnormals in %a differently
		 * (0x0.0...1p-1022 vs 0x1p-1074), both correct. */
		if (fpclassify(d) != FP_SUBNORMAL)
			printf("|%a|%A", d, d);
		putchar('\n');
		double neg = -d;
		printf("  neg %.17g|%g|%f\n", neg, neg,
		       fabs(neg) < 1e25 ? neg : 0.0);
	}
	/* The full decimal expansion of a large power of two and of the
	 * smallest normal double: exact in both libraries. */
	printf("%.0f\n", ldexp(1.0, 200));
	printf("%.330f\n", DBL_MIN);
	printf("%f\n", 1e300);
	float f = (float)vd[3];
	printf("float: %.9g %f %e %a\n", f, f, f, f);
}

static void specials(void)
{
	puts("== specials");
	volatile double zero = 0.0;
	double inf = 1.0 / zero, ninf = -1.0 / zero, nz = -zero;
	double nan_ = NAN, nnan = -NAN; /* constants: the sign is defined */
	printf("%f %f %e %g %F %E %G\n", inf, ninf, inf, ninf, inf, ninf, inf);
	printf("[%10f] [%-10f] [%+f] [% f] [%010f]\n", inf, inf, inf, inf,
	       ninf);
	printf("%f %e %g %F %.3f %a\n", nan_, nan_, nan_, nan_, nan_, nan_);
	printf("%f %g %F\n", nnan, nnan, nnan);
	printf("%f %e %g %.17g %a %+.0f %.0e\n", nz, nz, nz, nz, nz, nz, nz);
	/* NaNs computed at run time: their sign is not specified by wasm. */
	double q = zero / zero, r = inf - inf, s = sqrt(-1.0 - zero);
	printf("computed nan: %s %s %s\n", isnan(q) ? "nan" : "?",
	       isnan(r) ? "nan" : "?", isnan(s) ? "nan" : "?");
	printf("signbit(-0.0)=%d signbit(0.0)=%d -0.0==0.0:%d\n",
	       signbit(nz) != 0, signbit(zero) != 0, nz == zero);
	printf("isinf=%d isfinite=%d fpclassify(min/2)==SUBNORMAL:%d\n",
	       isinf(ninf) != 0, isfinite(inf) != 0,
	       fpclassify(DBL_MIN / 2) == FP_SUBNORMAL);
}

/* snprintf's return value is the length it would have written, and it
 * writes a terminator within the size; sscanf and strtod read back what
 * printf wrote. */
static void round_trips(void)
{
	puts("== round trips");
	char buf[64];
	int n = snprintf(buf, 8, "%d-%s", 123456, "abcdef");
	printf("snprintf truncated: n=%d buf=\"%s\"\n", n, buf);
	n = snprintf(NULL, 0, "%.17g", vd[6]);
	printf("snprintf(NULL,0) = %d\n", n);
	int bad = 0;
	for (size_t i = 0; i < sizeof vd / sizeof vd[0]; i++) {
		snprintf(buf, sizeof buf, "%.17g", vd[i]);
		double back = strtod(buf, NULL);
		if (memcmp(&back, (const void *)&vd[i], sizeof back) != 0)
			bad++;
		snprintf(buf, sizeof buf, "%a", -vd[i]);
		back = strtod(buf, NULL);
		if (back != -vd[i])
			bad++;
	}
	printf("%%.17g and %%a round trips: %d bad\n", bad);
	int a;
	unsigned b;
	long long c;
	double d;
	char word[16];
	int got = sscanf("  -17 0x1F 9223372036854775807 -2.5e-3 hello",
			 "%d %x %lld %lf %15s", &a, &b, &c, &d, word);
	printf("sscanf: %d fields: %d %u %lld %.17g %s\n", got, a, b, c, d,
	       word);
	got = sscanf("inf nan 0x1.8p3", "%lf %lf %lf", &d, &d, &d);
	printf("sscanf specials: %d fields, last %g\n", got, d);
}

int main(void)
{
	integers();
	floats();
	specials();
	round_trips();
	return 0;
}
