/* Arbitrary-precision arithmetic.
 *
 *   bignum [N]      compute N! (default 1500) among other things
 *
 * Natural numbers as arrays of base-10^9 limbs, with 64-bit intermediate
 * products: i64 multiply, divide and remainder on wasm32, where pointers
 * are 32-bit but these are native 64-bit instructions. Computes
 * factorials, Fibonacci numbers and powers of two, checks them with
 * identities (division undoes multiplication, F(2n) = F(n)(2F(n+1)-F(n)))
 * and prints digit counts, leading and trailing digits, and a hash of
 * all digits. Also exercises unsigned __int128 (compiler-rt helpers on
 * wasm32). */
#include "common.h"

#include <string.h>

#define BASE 1000000000u

typedef struct Big {
	uint32_t *d; /* limbs, least significant first */
	size_t n;    /* limbs in use; 0 means zero */
	size_t cap;
} Big;

static void reserve(Big *a, size_t n)
{
	if (n > a->cap) {
		a->cap = n * 2;
		a->d = realloc(a->d, a->cap * sizeof *a->d);
		CHECK(a->d != NULL);
	}
}

static void set_u64(Big *a, uint64_t v)
{
	a->n = 0;
	reserve(a, 3);
	while (v) {
		a->d[a->n++] = (uint32_t)(v % BASE);
		v /= BASE;
	}
}

static void trim(Big *a)
{
	while (a->n && a->d[a->n - 1] == 0)
		a->n--;
}

static void copy(Big *dst, const Big *src)
{
	reserve(dst, src->n + 1);
	memcpy(dst->d, src->d, src->n * sizeof *src->d);
	dst->n = src->n;
}

/* a *= small */
static void mul_small(Big *a, uint32_t m)
{
	uint64_t carry = 0;
	for (size_t i = 0; i < a->n; i++) {
		uint64_t t = (uint64_t)a->d[i] * m + carry;
		a->d[i] = (uint32_t)(t % BASE);
		carry = t / BASE;
	}
	reserve(a, a->n + 2);
	while (carry) {
		a->d[a->n++] = (uint32_t)(carry % BASE);
		carry /= BASE;
	}
}

/* a /= small, returns the remainder */
static uint32_t div_small(Big *a, uint32_t m)
{
	uint64_t rem = 0;
	for (size_t i = a->n; i-- > 0;) {
		uint64_t cur = a->d[i] + rem * BASE;
		a->d[i] = (uint32_t)(cur / m);
		rem = cur % m;
	}
	trim(a);
	return (uint32_t)rem;
}

/* r = a + b (r may alias a or b) */
static void add(Big *r, const Big *a, const Big *b)
{
	size_t n = a->n > b->n ? a->n : b->n;
	reserve(r, n + 1);
	uint32_t carry = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t s = carry + (i < a->n ? a->d[i] : 0) +
			     (i < b->n ? b->d[i] : 0);
		carry = s >= BASE;
		r->d[i] = carry ? s - BASE : s;
	}
	r->n = n;
	if (carry)
		r->d[r->n++] = 1;
}

/* r = a - b, requires a >= b (r may alias a) */
static void sub(Big *r, const Big *a, const Big *b)
{
	reserve(r, a->n);
	int64_t borrow = 0;
	for (size_t i = 0; i < a->n; i++) {
		int64_t s =
			(int64_t)a->d[i] - borrow - (i < b->n ? b->d[i] : 0);
		borrow = s < 0;
		r->d[i] = (uint32_t)(borrow ? s + BASE : s);
	}
	CHECK(borrow == 0);
	r->n = a->n;
	trim(r);
}

/* r = a * b, schoolbook (r must not alias) */
static void mul(Big *r, const Big *a, const Big *b)
{
	reserve(r, a->n + b->n + 1);
	memset(r->d, 0, (a->n + b->n + 1) * sizeof *r->d);
	for (size_t i = 0; i < a->n; i++) {
		uint64_t carry = 0;
		for (size_t j = 0; j < b->n; j++) {
			uint64_t t = r->d[i + j] + (uint64_t)a->d[i] * b->d[j] +
				     carry;
			r->d[i + j] = (uint32_t)(t % BASE);
			carry = t / BASE;
		}
		size_t k = i + b->n;
		while (carry) {
			uint64_t t = r->d[k] + carry;
			r->d[k++] = (uint32_t)(t % BASE);
			carry = t / BASE;
		}
	}
	r->n = a->n + b->n + 1;
	trim(r);
}

static int cmp(const Big *a, const Big *b)
{
	if (a->n != b->n)
		return a->n < b->n ? -1 : 1;
	for (size_t i = a->n; i-- > 0;)
		if (a->d[i] != b->d[i])
			return a->d[i] < b->d[i] ? -1 : 1;
	return 0;
}

/* Decimal digits, most significant first (caller frees). */
static char *to_string(const Big *a)
{
	char *s = malloc(a->n * 9 + 2);
	if (a->n == 0)
		return strcpy(s, "0");
	int len = sprintf(s, "%u", a->d[a->n - 1]);
	for (size_t i = a->n - 1; i-- > 0;)
		len += sprintf(s + len, "%09u", a->d[i]);
	return s;
}

static void show(const char *what, const Big *a)
{
	char *s = to_string(a);
	size_t len = strlen(s);
	if (len <= 60)
		printf("%s = %s\n", what, s);
	else
		printf("%s = %.25s...%s (%zu digits, hash %016llx)\n", what, s,
		       s + len - 25, len,
		       (unsigned long long)fnv1a(FNV_INIT, s, len));
	free(s);
}

static void u128(void)
{
	/* Volatile so the arithmetic happens at run time. */
	volatile uint64_t a = UINT64_C(0xFFFFFFFFFFFFFFFF),
			  b = UINT64_C(0x123456789ABCDEF1);
	unsigned __int128 p = (unsigned __int128)a * b;
	unsigned __int128 q = p / 1000000007u, r = p % 1000000007u;
	printf("u128: a*b = 0x%016llx%016llx, /1e9+7 = 0x%016llx%016llx r "
	       "%llu\n",
	       (unsigned long long)(p >> 64), (unsigned long long)p,
	       (unsigned long long)(q >> 64), (unsigned long long)q,
	       (unsigned long long)r);
	__int128 s = -(__int128)p;
	printf("i128: -(a*b) >> 70 = %lld, back: %s\n", (long long)(s >> 70),
	       (unsigned __int128)(-s) == p ? "ok" : "WRONG");
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 1500;
	Big f = {0}, t = {0}, u = {0};

	set_u64(&f, 1);
	for (unsigned i = 2; i <= n; i++)
		mul_small(&f, i);
	char label[32];
	snprintf(label, sizeof label, "%u!", n);
	show(label, &f);
	/* Dividing back down must end at exactly 1, with no remainders. */
	copy(&t, &f);
	uint64_t rems = 0;
	for (unsigned i = n; i >= 2; i--)
		rems += div_small(&t, i);
	printf("%u! / %u / ... / 2: %s, remainders %llu\n", n, n,
	       t.n == 1 && t.d[0] == 1 ? "1" : "WRONG",
	       (unsigned long long)rems);

	/* Fibonacci by iteration, then F(2k) from F(k) and F(k+1). */
	Big a = {0}, b = {0}, c = {0};
	unsigned k = 4 * n;
	set_u64(&a, 0);
	set_u64(&b, 1);
	Big fk = {0}, fk1 = {0};
	for (unsigned i = 0; i < 2 * k; i++) {
		if (i == k) {
			copy(&fk, &a);
			copy(&fk1, &b);
		}
		add(&c, &a, &b);
		copy(&a, &b);
		copy(&b, &c);
	}
	snprintf(label, sizeof label, "F(%u)", 2 * k);
	show(label, &a);
	add(&t, &fk1, &fk1);
	sub(&t, &t, &fk);
	mul(&u, &fk, &t);
	printf("F(2k) = F(k)(2F(k+1) - F(k)): %s\n",
	       cmp(&u, &a) == 0 ? "holds" : "FAILS");

	/* 2^(8n) by squaring and by doubling must agree. */
	set_u64(&t, 2);
	for (unsigned bits = 1; bits < 8 * n; bits *= 2) {
		mul(&u, &t, &t);
		copy(&t, &u);
	}
	set_u64(&u, 1);
	unsigned pow2 = 1;
	while (pow2 < 8 * n)
		pow2 *= 2;
	for (unsigned i = 0; i < pow2; i++)
		add(&u, &u, &u);
	snprintf(label, sizeof label, "2^%u", pow2);
	show(label, &t);
	printf("squaring and doubling agree: %s\n",
	       cmp(&t, &u) == 0 ? "yes" : "NO");

	u128();
	free(f.d);
	free(t.d);
	free(u.d);
	free(a.d);
	free(b.d);
	free(c.d);
	free(fk.d);
	free(fk1.d);
	return 0;
}
