/*
 * Compiled code as bytes: the format of a code cache file (and of the
 * buffer myr_module_code returns), and the cache directory.
 *
 * A file is code the process will run, so it is trusted only after every
 * check passes: its format version, the SHA-256 of the module it was
 * compiled from, myriad's version, the CPU features and runtime layout the
 * code assumes (jit_cpu_key, jit_abi_hash), the bounds of every field,
 * and a SHA-256 of the whole file. docs/architecture.md has the layout.
 */
#ifndef MYR_CODECACHE_H
#define MYR_CODECACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One object file and the defined functions it holds, in its order. */
typedef struct CodeObj {
	uint32_t *defs;
	uint32_t n;
	uint8_t *bytes;
	size_t len;
} CodeObj;

void code_sha256(const uint8_t *p, size_t len, uint8_t out[32]);

/* The file for objs[0..n) of the module whose hash is mhash (malloc'd). */
bool code_serialize(const uint8_t mhash[32], const CodeObj *objs, size_t n,
		    uint8_t **out, size_t *out_len);

/* Checks a file against the module (hash mhash, ndef defined functions)
 * and copies its objects out (free with code_objs_free). False, with the
 * reason in why, if anything does not match. */
bool code_parse(const uint8_t *buf, size_t len, const uint8_t mhash[32],
		uint32_t ndef, CodeObj **objs, size_t *n, char *why,
		size_t why_len);

void code_objs_free(CodeObj *objs, size_t n);

/* The cache file's path in dir for the module (malloc'd). */
char *code_cache_path(const char *dir, const uint8_t mhash[32]);

/* Whole-file read; false if it does not exist or cannot be read. */
bool code_read_file(const char *path, uint8_t **buf, size_t *len);

/* Writes the file atomically (a temporary file, then rename), creating
 * the directory if needed. */
bool code_write_file(const char *path, const uint8_t *buf, size_t len,
		     char *why, size_t why_len);

#endif
