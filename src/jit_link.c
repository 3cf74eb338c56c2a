/*
 * The compiler tier's link to LLVM: IR (jit_emit.c) to an object file, and
 * object files into the process through ORC's LLJIT.
 *
 * Every object goes to a JITDylib of its own, which defines nothing but the
 * runtime symbols the code may reference (jit.h's helpers, the `native`
 * handler, a fixed list of libc functions LLVM lowers some operations to).
 * Each object exports one symbol, `myr_dir`, so the same object bytes can
 * be loaded for several modules at once (two modules with the same hash,
 * or a cache file and a fresh build) without a clash, and nothing of the
 * process is reachable from compiled code except what is listed here.
 *
 * JITLink's in-process memory manager maps code read-write, copies it in
 * and makes it read-execute before it runs: code pages are never writable
 * and executable at once. Mappings are per object, that is per module (or
 * per compiled batch of a module), never per instance.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "jit.h"

bool jit_emit_module(LLVMContextRef C, LLVMModuleRef M, const Module *m,
		     const uint32_t *defs, uint32_t n, char *err,
		     size_t err_len);

struct JitCode {
	LLVMOrcJITDylibRef jd;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t jit_lock = PTHREAD_MUTEX_INITIALIZER;
static LLVMOrcLLJITRef jit;
static char init_why[256];
static char cpu_key[512];
static char *host_cpu, *host_features;
static uint64_t jd_serial;
/* JITDylibs of unloaded objects, cleared and ready for the next one (ORC
 * cannot remove a JITDylib from its session). */
static LLVMOrcJITDylibRef *free_jds;
static size_t nfree_jds, cap_free_jds;

static void take_error(LLVMErrorRef e, char *buf, size_t len)
{
	char *msg = LLVMGetErrorMessage(e);
	snprintf(buf, len, "%s", msg);
	LLVMDisposeErrorMessage(msg);
}

static void init_llvm(void)
{
	LLVMInitializeNativeTarget();
	LLVMInitializeNativeAsmPrinter();
	host_cpu = LLVMGetHostCPUName();
	host_features = LLVMGetHostCPUFeatures();
	char *triple = LLVMGetDefaultTargetTriple();
	snprintf(cpu_key, sizeof cpu_key, "%s %s %s", triple, host_cpu,
		 host_features);
	LLVMDisposeMessage(triple);
	LLVMOrcLLJITBuilderRef b = LLVMOrcCreateLLJITBuilder();
	LLVMErrorRef e = LLVMOrcCreateLLJIT(&jit, b);
	if (e) {
		take_error(e, init_why, sizeof init_why);
		jit = NULL;
	}
}

bool jit_init(char *why, size_t why_len)
{
	pthread_once(&init_once, init_llvm);
	if (!jit && why)
		snprintf(why, why_len, "LLVM's JIT did not start: %s",
			 init_why);
	return jit != NULL;
}

const char *jit_cpu_key(void)
{
	pthread_once(&init_once, init_llvm);
	return cpu_key;
}

/* ------------------------------------------------------------------ */
/* Building an object                                                  */

static LLVMTargetMachineRef new_target_machine(char *err, size_t err_len)
{
	char *triple = LLVMGetDefaultTargetTriple();
	LLVMTargetRef target;
	char *msg = NULL;
	LLVMTargetMachineRef tm = NULL;
	if (LLVMGetTargetFromTriple(triple, &target, &msg)) {
		snprintf(err, err_len, "no LLVM target for %s: %s", triple,
			 msg);
		LLVMDisposeMessage(msg);
	} else {
		tm = LLVMCreateTargetMachine(target, triple, host_cpu,
					     host_features,
					     LLVMCodeGenLevelDefault,
					     LLVMRelocPIC, LLVMCodeModelSmall);
		if (!tm)
			snprintf(err, err_len, "LLVM made no target machine");
	}
	LLVMDisposeMessage(triple);
	return tm;
}

bool jit_build(const Module *m, const uint32_t *defs, uint32_t n, bool quick,
	       JitObject *out, char *err, size_t err_len)
{
	if (!jit_init(err, err_len))
		return false;
	LLVMTargetMachineRef tm = new_target_machine(err, err_len);
	if (!tm)
		return false;
	LLVMContextRef C = LLVMContextCreate();
	LLVMModuleRef M = LLVMModuleCreateWithNameInContext("wasm", C);
	char *triple = LLVMGetTargetMachineTriple(tm);
	LLVMSetTarget(M, triple);
	LLVMDisposeMessage(triple);
	LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
	LLVMSetModuleDataLayout(M, td);
	LLVMDisposeTargetData(td);
	bool ok = jit_emit_module(C, M, m, defs, n, err, err_len);
	/* For working on the compiler: MYRIAD_JIT_DUMP=PREFIX writes each
	 * object's IR as PREFIX.N.ll and PREFIX.N.opt.ll. */
	const char *dump = getenv("MYRIAD_JIT_DUMP");
	static unsigned dumps;
	char dump_path[512];
	unsigned dump_n = __atomic_fetch_add(&dumps, 1, __ATOMIC_RELAXED);
	if (ok && dump) {
		snprintf(dump_path, sizeof dump_path, "%s.%u.ll", dump, dump_n);
		LLVMPrintModuleToFile(M, dump_path, NULL);
	}
	char *msg = NULL;
	if (ok && LLVMVerifyModule(M, LLVMReturnStatusAction, &msg)) {
		snprintf(err, err_len, "the IR does not verify: %.400s", msg);
		ok = false;
	}
	LLVMDisposeMessage(msg);
	msg = NULL;
	if (ok) {
		LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
		LLVMPassBuilderOptionsSetSLPVectorization(po, !quick);
		/* MYRIAD_JIT_PASSES replaces the pipeline, for measuring. */
		const char *passes = getenv("MYRIAD_JIT_PASSES");
		LLVMErrorRef e = LLVMRunPasses(
			M, passes && *passes ? passes : "default<O2>", tm, po);
		LLVMDisposePassBuilderOptions(po);
		if (e) {
			take_error(e, err, err_len);
			ok = false;
		}
	}
	if (ok && dump) {
		snprintf(dump_path, sizeof dump_path, "%s.%u.opt.ll", dump,
			 dump_n);
		LLVMPrintModuleToFile(M, dump_path, NULL);
	}
	LLVMMemoryBufferRef buf = NULL;
	if (ok && LLVMTargetMachineEmitToMemoryBuffer(tm, M, LLVMObjectFile,
						      &msg, &buf)) {
		snprintf(err, err_len, "LLVM made no object: %s", msg);
		ok = false;
	}
	LLVMDisposeMessage(msg);
	if (ok) {
		size_t len = LLVMGetBufferSize(buf);
		out->bytes = malloc(len ? len : 1);
		out->len = len;
		if (out->bytes)
			memcpy(out->bytes, LLVMGetBufferStart(buf), len);
		else
			ok = false, snprintf(err, err_len, "out of memory");
	}
	if (buf)
		LLVMDisposeMemoryBuffer(buf);
	LLVMDisposeModule(M);
	LLVMContextDispose(C);
	LLVMDisposeTargetMachine(tm);
	return ok;
}

/* ------------------------------------------------------------------ */
/* Loading an object                                                   */

/* The libc functions LLVM may lower wasm operations to (bulk memory
 * copies, float rounding without SSE4.1). */
#define MYR_JIT_LIBC(X)                                                        \
	X(memcpy)                                                              \
	X(memmove)                                                             \
	X(memset)                                                              \
	X(floor)                                                               \
	X(floorf)                                                              \
	X(ceil)                                                                \
	X(ceilf)                                                               \
	X(trunc)                                                               \
	X(truncf)                                                              \
	X(rint)                                                                \
	X(rintf)                                                               \
	X(nearbyint) X(nearbyintf) X(fmin) X(fminf) X(fmax) X(fmaxf) X(sqrt)   \
		X(sqrtf) X(copysign) X(copysignf)

static const struct {
	const char *name;
	void *addr;
} libc_syms[] = {
#define MYR_LIBC_ONE(n) {#n, (void *)n},
	MYR_JIT_LIBC(MYR_LIBC_ONE)
#undef MYR_LIBC_ONE
};

/* Defined in interp.c; compiled code's resume cells point at it. */
extern const OpFn op_handlers[OP_COUNT_];

static LLVMErrorRef define_runtime(LLVMOrcJITDylibRef jd)
{
	static const char *const helpers[] = {
#define MYR_HELPER_NAME(n, r, p) #n,
		MYR_JIT_HELPERS(MYR_HELPER_NAME)
#undef MYR_HELPER_NAME
	};
	size_t nh = sizeof helpers / sizeof *helpers;
	size_t nl = sizeof libc_syms / sizeof *libc_syms;
	size_t n = nh + nl + 1;
	LLVMOrcCSymbolMapPair *p = calloc(n, sizeof *p);
	if (!p)
		return LLVMCreateStringError("out of memory");
	LLVMJITSymbolFlags fl = {LLVMJITSymbolGenericFlagsExported |
					 LLVMJITSymbolGenericFlagsCallable,
				 0};
	size_t k = 0;
	for (size_t i = 0; i < nh; i++) {
		char name[64];
		snprintf(name, sizeof name, "myr_rt_%s", helpers[i]);
		p[k].Name = LLVMOrcLLJITMangleAndIntern(jit, name);
		p[k++].Sym = (LLVMJITEvaluatedSymbol){
			(LLVMOrcExecutorAddress)(uintptr_t)jit_helper(
				helpers[i]),
			fl};
	}
	for (size_t i = 0; i < nl; i++) {
		p[k].Name = LLVMOrcLLJITMangleAndIntern(jit, libc_syms[i].name);
		p[k++].Sym = (LLVMJITEvaluatedSymbol){
			(LLVMOrcExecutorAddress)(uintptr_t)libc_syms[i].addr,
			fl};
	}
	p[k].Name = LLVMOrcLLJITMangleAndIntern(jit, "myr_op_native");
	p[k++].Sym = (LLVMJITEvaluatedSymbol){
		(LLVMOrcExecutorAddress)(uintptr_t)op_handlers[OP_native], fl};
	LLVMErrorRef e =
		LLVMOrcJITDylibDefine(jd, LLVMOrcAbsoluteSymbols(p, k));
	free(p);
	return e;
}

typedef struct Lookup {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	uint64_t addr;
	char err[256];
} Lookup;

static void lookup_done(LLVMErrorRef e, LLVMOrcCSymbolMapPairs res,
			size_t npairs, void *ctx)
{
	Lookup *l = ctx;
	pthread_mutex_lock(&l->lock);
	if (e)
		take_error(e, l->err, sizeof l->err);
	else if (npairs == 1)
		l->addr = res[0].Sym.Address;
	else
		snprintf(l->err, sizeof l->err, "no myr_dir in the object");
	l->done = true;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

/* Links jd's objects (lookup is what makes ORC link) and returns the
 * address of myr_dir, 0 on failure. */
static uint64_t lookup_dir(LLVMOrcJITDylibRef jd, char *err, size_t err_len)
{
	Lookup l = {.lock = PTHREAD_MUTEX_INITIALIZER,
		    .cond = PTHREAD_COND_INITIALIZER};
	LLVMOrcCJITDylibSearchOrderElement order[1] = {
		{jd, LLVMOrcJITDylibLookupFlagsMatchExportedSymbolsOnly}};
	LLVMOrcCLookupSetElement syms[1] = {
		{LLVMOrcLLJITMangleAndIntern(jit, "myr_dir"),
		 LLVMOrcSymbolLookupFlagsRequiredSymbol}};
	LLVMOrcExecutionSessionLookup(LLVMOrcLLJITGetExecutionSession(jit),
				      LLVMOrcLookupKindStatic, order, 1, syms,
				      1, lookup_done, &l);
	pthread_mutex_lock(&l.lock);
	while (!l.done)
		pthread_cond_wait(&l.cond, &l.lock);
	pthread_mutex_unlock(&l.lock);
	if (!l.addr)
		snprintf(err, err_len, "linking compiled code failed: %s",
			 l.err);
	return l.addr;
}

static LLVMOrcJITDylibRef new_jd(char *err, size_t err_len)
{
	if (nfree_jds > 0)
		return free_jds[--nfree_jds];
	char name[48];
	snprintf(name, sizeof name, "myriad.%llu",
		 (unsigned long long)++jd_serial);
	LLVMOrcJITDylibRef jd = LLVMOrcExecutionSessionCreateBareJITDylib(
		LLVMOrcLLJITGetExecutionSession(jit), name);
	LLVMErrorRef e = define_runtime(jd);
	if (e) {
		take_error(e, err, err_len);
		return NULL;
	}
	return jd;
}

static void release_jd(LLVMOrcJITDylibRef jd)
{
	LLVMErrorRef e = LLVMOrcJITDylibClear(jd);
	if (e) {
		/* A JITDylib that did not clear is left alone, not reused. */
		LLVMConsumeError(e);
		return;
	}
	if (define_runtime(jd) != NULL)
		return;
	if (nfree_jds == cap_free_jds) {
		size_t cap = cap_free_jds ? cap_free_jds * 2 : 8;
		LLVMOrcJITDylibRef *n = realloc(free_jds, cap * sizeof *n);
		if (!n)
			return;
		free_jds = n;
		cap_free_jds = cap;
	}
	free_jds[nfree_jds++] = jd;
}

bool jit_load(Module *m, const uint8_t *obj, size_t len, const uint32_t *defs,
	      uint32_t n, JitCode **out, char *err, size_t err_len)
{
	if (!jit_init(err, err_len))
		return false;
	JitCode *code = calloc(1, sizeof *code);
	if (!code) {
		snprintf(err, err_len, "out of memory");
		return false;
	}
	pthread_mutex_lock(&jit_lock);
	LLVMOrcJITDylibRef jd = new_jd(err, err_len);
	uint64_t dir = 0;
	if (jd) {
		LLVMMemoryBufferRef buf =
			LLVMCreateMemoryBufferWithMemoryRangeCopy(
				(const char *)obj, len, "myriad-code");
		LLVMErrorRef e = LLVMOrcLLJITAddObjectFile(jit, jd, buf);
		if (e)
			take_error(e, err, err_len);
		else
			dir = lookup_dir(jd, err, err_len);
		if (!dir)
			release_jd(jd);
	}
	pthread_mutex_unlock(&jit_lock);
	if (!dir) {
		free(code);
		return false;
	}
	code->jd = jd;
	void *const *d = (void *const *)(uintptr_t)dir;
	for (uint32_t i = 0; i < n; i++) {
		Func *f = &m->funcs[defs[i]];
		f->native = d[2 * i];
		f->native_cells = d[2 * i + 1];
	}
	/* Calls start taking the machine code only after everything it
	 * reads is in place. */
	for (uint32_t i = 0; i < n; i++) {
		Func *f = &m->funcs[defs[i]];
		__atomic_store_n(&f->entry, f->native_cells, __ATOMIC_RELEASE);
	}
	*out = code;
	return true;
}

void jit_unload(JitCode *code)
{
	if (!code)
		return;
	pthread_mutex_lock(&jit_lock);
	release_jd(code->jd);
	pthread_mutex_unlock(&jit_lock);
	free(code);
}
