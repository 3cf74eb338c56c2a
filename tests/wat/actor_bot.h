/*
 * The script format of actor_bot.wat, for the C that writes scripts for
 * it (tests/unit/test_actor.c, fuzz/fuzz_actors.c). An instruction is
 * five little-endian i64s: op, dst, a, b, c; the .wat says what each op
 * does with them.
 */
#ifndef MYR_TEST_ACTOR_BOT_H
#define MYR_TEST_ACTOR_BOT_H

#include <stdint.h>
#include <string.h>

enum {
	O_END,
	O_SET,
	O_ADD,
	O_SELF,
	O_SEND,
	O_SENDN,
	O_RECV,
	O_LINK,
	O_UNLINK,
	O_MON,
	O_DEMON,
	O_TRAPX,
	O_EXIT,
	O_REG,
	O_WHERE,
	O_SPAWN,
	O_TRAP,
	O_REPORT,
	O_JLT,
	O_JEQ,
	O_JNE,
	O_LOAD,
	O_STORE,
	O_SPIN,
	O_PEXIT,
	O_NOPS /* every op from here on traps */
};

/* An operand naming register k; r1 is the script's sender, r2 self, and
 * a receive leaves the message's sender, tag and first 8 bytes in r13,
 * r14, r15. */
#define R(k) ((int64_t)0x52 << 56 | (k))

/* Bytes of an instruction, and of what REPORT sends: the registers, the
 * receive info and the first 256 bytes of the receive buffer. */
enum { INS_BYTES = 40, REPORT_BYTES = 400 };

/* Fields of messages (reports, EXIT, DOWN), little-endian like the
 * host: the scripts are sent as they lie in memory. */
static inline int64_t le64(const uint8_t *p)
{
	int64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline int32_t le32(const uint8_t *p)
{
	int32_t v;
	memcpy(&v, p, 4);
	return v;
}

#endif
