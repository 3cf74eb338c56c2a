;; A scripted actor for tests/unit/test_actor.c. Its first message is a
;; script: instructions of five little-endian i64s (op, dst, a, b, c), so
;; that one module can play every part a test needs (sender, receiver,
;; linker, racer...) while the test composes the scenario in C. An operand
;; whose top byte is 0x52 ('R') names register (operand & 15) instead of
;; being an immediate. r1 starts as the script's sender, r2 as self; a
;; receive leaves the message's sender, tag and first 8 bytes in r13, r14,
;; r15. Registers are what REPORT sends, so the test can see every result.
;; It is a reactor: spawn must run its _initialize, once, before the entry
;; (run traps otherwise).
;;
;; Memory: 0x000 scratch (names, one i64 payload), 0x100 registers (128
;; bytes), 0x180 the receive info (16), 0x190 the receive buffer (4 KiB;
;; REPORT sends registers, info and the first 256 bytes of it: 400 bytes),
;; 0x2000 the script, 0x6000 an i64 array of 1024 (LOAD, STORE), 0x8000
;; 32 KiB of zeros to send (SENDN).
(module
  (import "myriad" "self" (func $self (result i64)))
  (import "myriad" "spawn" (func $spawn (param i32 i32 i32 i32 i32) (result i64)))
  (import "myriad" "send" (func $send (param i64 i64 i32 i32) (result i32)))
  (import "myriad" "receive" (func $receive (param i64 i32 i32 i64 i32) (result i32)))
  (import "myriad" "link" (func $link (param i64) (result i32)))
  (import "myriad" "unlink" (func $unlink (param i64) (result i32)))
  (import "myriad" "monitor" (func $monitor (param i64) (result i64)))
  (import "myriad" "demonitor" (func $demonitor (param i64) (result i32)))
  (import "myriad" "trap_exit" (func $trap_exit (param i32) (result i32)))
  (import "myriad" "exit" (func $exit (param i64 i32) (result i32)))
  (import "myriad" "register" (func $register (param i32 i32) (result i32)))
  (import "myriad" "whereis" (func $whereis (param i32 i32) (result i64)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)

  (global $pc (mut i32) (i32.const 0))
  (global $n (mut i32) (i32.const 0))
  (global $inits (mut i32) (i32.const 0))

  (func (export "_initialize")
    (global.set $inits (i32.add (global.get $inits) (i32.const 1))))

  (func $reg (param $k i64) (result i32)
    (i32.add (i32.const 0x100)
             (i32.shl (i32.and (i32.wrap_i64 (local.get $k)) (i32.const 15))
                      (i32.const 3))))
  (func $field (param $i i32) (result i64)
    (i64.load (i32.add (i32.add (i32.const 0x2000)
                                (i32.mul (global.get $pc) (i32.const 40)))
                       (i32.shl (local.get $i) (i32.const 3)))))
  (func $arg (param $i i32) (result i64) (local $v i64)
    (local.set $v (call $field (local.get $i)))
    (if (result i64) (i64.eq (i64.shr_u (local.get $v) (i64.const 56)) (i64.const 0x52))
      (then (i64.load (call $reg (local.get $v))))
      (else (local.get $v))))

  (func (export "run")
    (local $op i32) (local $dst i32) (local $r i32)
    (local $a i64) (local $b i64) (local $c i64) (local $i i64)
    (if (i32.ne (global.get $inits) (i32.const 1)) (then unreachable))
    (local.set $r (call $receive (i64.const 0) (i32.const 0x2000) (i32.const 0x4000)
                                 (i64.const -1) (i32.const 0x180)))
    (if (i32.or (i32.lt_s (local.get $r) (i32.const 0))
                (i32.gt_s (local.get $r) (i32.const 0x4000)))
      (then unreachable))
    (global.set $n (i32.div_u (local.get $r) (i32.const 40)))
    (i64.store (i32.const 0x108) (i64.load (i32.const 0x180)))
    (i64.store (i32.const 0x110) (call $self))
    (block $end
      (loop $next
        (br_if $end (i32.ge_u (global.get $pc) (global.get $n)))
        (local.set $op (i32.wrap_i64 (call $field (i32.const 0))))
        (local.set $dst (call $reg (call $field (i32.const 1))))
        (local.set $a (call $arg (i32.const 2)))
        (local.set $b (call $arg (i32.const 3)))
        (local.set $c (call $arg (i32.const 4)))
        (global.set $pc (i32.add (global.get $pc) (i32.const 1)))
        (block $bad (block $o24 (block $o23 (block $o22 (block $o21 (block $o20
        (block $o19 (block $o18 (block $o17 (block $o16 (block $o15
        (block $o14 (block $o13 (block $o12 (block $o11 (block $o10
        (block $o9 (block $o8 (block $o7 (block $o6 (block $o5
        (block $o4 (block $o3 (block $o2 (block $o1 (block $o0
          (br_table $o0 $o1 $o2 $o3 $o4 $o5 $o6 $o7 $o8 $o9 $o10 $o11 $o12
                    $o13 $o14 $o15 $o16 $o17 $o18 $o19 $o20 $o21 $o22 $o23
                    $o24 $bad (local.get $op)))
        ;; 0 END: return (a normal end)
        (br $end))
        ;; 1 SET dst = a
        (i64.store (local.get $dst) (local.get $a)) (br $next))
        ;; 2 ADD dst = a + b
        (i64.store (local.get $dst) (i64.add (local.get $a) (local.get $b))) (br $next))
        ;; 3 SELF
        (i64.store (local.get $dst) (call $self)) (br $next))
        ;; 4 SEND dst = send(a, tag b, the 8 bytes of c)
        (i64.store (i32.const 0) (local.get $c))
        (i64.store (local.get $dst)
          (i64.extend_i32_s (call $send (local.get $a) (local.get $b) (i32.const 0) (i32.const 8))))
        (br $next))
        ;; 5 SENDN dst = send(a, tag b, c zero bytes)
        (i64.store (local.get $dst)
          (i64.extend_i32_s (call $send (local.get $a) (local.get $b) (i32.const 0x8000)
                                        (i32.wrap_i64 (local.get $c)))))
        (br $next))
        ;; 6 RECV dst = receive(filter a, cap b, timeout c); the buffer's
        ;; first 256 bytes and the info are 0xEE before it.
        (memory.fill (i32.const 0x180) (i32.const 0xEE) (i32.const 272))
        (i64.store (local.get $dst)
          (i64.extend_i32_s (call $receive (local.get $a) (i32.const 0x190)
                                           (i32.wrap_i64 (local.get $b))
                                           (local.get $c) (i32.const 0x180))))
        (i64.store (i32.const 0x168) (i64.load (i32.const 0x180)))
        (i64.store (i32.const 0x170) (i64.load (i32.const 0x188)))
        (i64.store (i32.const 0x178) (i64.load (i32.const 0x190)))
        (br $next))
        ;; 7 LINK
        (i64.store (local.get $dst) (i64.extend_i32_s (call $link (local.get $a)))) (br $next))
        ;; 8 UNLINK
        (i64.store (local.get $dst) (i64.extend_i32_s (call $unlink (local.get $a)))) (br $next))
        ;; 9 MONITOR
        (i64.store (local.get $dst) (call $monitor (local.get $a))) (br $next))
        ;; 10 DEMONITOR
        (i64.store (local.get $dst) (i64.extend_i32_s (call $demonitor (local.get $a)))) (br $next))
        ;; 11 TRAP_EXIT
        (i64.store (local.get $dst)
          (i64.extend_i32_s (call $trap_exit (i32.wrap_i64 (local.get $a)))))
        (br $next))
        ;; 12 EXIT dst = exit(a, reason b)
        (i64.store (local.get $dst)
          (i64.extend_i32_s (call $exit (local.get $a) (i32.wrap_i64 (local.get $b)))))
        (br $next))
        ;; 13 REGISTER the name whose bytes are a, of length b
        (i64.store (i32.const 0) (local.get $a))
        (i64.store (local.get $dst)
          (i64.extend_i32_s (call $register (i32.const 0) (i32.wrap_i64 (local.get $b)))))
        (br $next))
        ;; 14 WHEREIS, as REGISTER
        (i64.store (i32.const 0) (local.get $a))
        (i64.store (local.get $dst) (call $whereis (i32.const 0) (i32.wrap_i64 (local.get $b))))
        (br $next))
        ;; 15 SPAWN the entry whose bytes are a; b = its length | flags << 8;
        ;; c = first instruction | count << 16 of this script for the child
        (i64.store (i32.const 0x10) (local.get $a))
        (i64.store (local.get $dst)
          (call $spawn (i32.const 0x10) (i32.and (i32.wrap_i64 (local.get $b)) (i32.const 255))
                       (i32.add (i32.const 0x2000)
                                (i32.mul (i32.and (i32.wrap_i64 (local.get $c)) (i32.const 0xFFFF))
                                         (i32.const 40)))
                       (i32.mul (i32.wrap_i64 (i64.shr_u (local.get $c) (i64.const 16)))
                                (i32.const 40))
                       (i32.wrap_i64 (i64.shr_u (local.get $b) (i64.const 8)))))
        (br $next))
        ;; 16 TRAP
        unreachable)
        ;; 17 REPORT dst = send(a, tag b, registers, info, buffer: 400 bytes)
        (i64.store (local.get $dst)
          (i64.extend_i32_s (call $send (local.get $a) (local.get $b) (i32.const 0x100) (i32.const 400))))
        (br $next))
        ;; 18 JLT: if a < b (signed), go to c
        (if (i64.lt_s (local.get $a) (local.get $b))
          (then (global.set $pc (i32.wrap_i64 (local.get $c)))))
        (br $next))
        ;; 19 JEQ
        (if (i64.eq (local.get $a) (local.get $b))
          (then (global.set $pc (i32.wrap_i64 (local.get $c)))))
        (br $next))
        ;; 20 JNE
        (if (i64.ne (local.get $a) (local.get $b))
          (then (global.set $pc (i32.wrap_i64 (local.get $c)))))
        (br $next))
        ;; 21 LOAD dst = array[a]
        (i64.store (local.get $dst)
          (i64.load (i32.add (i32.const 0x6000)
                             (i32.shl (i32.and (i32.wrap_i64 (local.get $a)) (i32.const 1023))
                                      (i32.const 3)))))
        (br $next))
        ;; 22 STORE array[a] = b
        (i64.store (i32.add (i32.const 0x6000)
                            (i32.shl (i32.and (i32.wrap_i64 (local.get $a)) (i32.const 1023))
                                     (i32.const 3)))
                   (local.get $b))
        (br $next))
        ;; 23 SPIN a times without calling the host (a < 0: forever)
        (local.set $i (i64.const 0))
        (block $done
          (loop $spin
            (br_if $done (i64.eq (local.get $i) (local.get $a)))
            (local.set $i (i64.add (local.get $i) (i64.const 1)))
            (br $spin)))
        (br $next))
        ;; 24 PROC_EXIT a
        (call $proc_exit (i32.wrap_i64 (local.get $a)))
        (br $next))
        ;; an unknown op
        unreachable)))

  ;; For spawn: an export of the wrong type.
  (func (export "badtype") (param i32))
)
