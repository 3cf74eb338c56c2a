;; The million-instance demo's module. Each instance owns exactly 16 KiB of
;; linear memory (the build sets its page size to 1 byte: see
;; tools/pagesize.c). run(id) fills all of it with words derived from id,
;; reads every word back and checks it, twice with different seeds, and
;; returns a checksum of what it read; a word that reads back wrong makes
;; it return 0xBAD00000_00000000 | its position instead. demo/expect.c
;; computes the same checksums natively.
(module
  (memory (export "memory") 1 1)
  (func $word (param $seed i32) (param $i i32) (result i32)
    (local $x i32)
    (local.set $x (i32.mul (i32.xor (local.get $seed) (local.get $i))
                           (i32.const 0x27d4eb2d)))
    (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 15))))
  (func (export "run") (param $id i32) (result i64)
    (local $pass i32) (local $seed i32) (local $i i32) (local $sum i64)
    (loop $passes
      (local.set $seed
        (i32.add (i32.mul (local.get $id) (i32.const 0x9e3779b1))
                 (i32.mul (local.get $pass) (i32.const 0x85ebca6b))))
      ;; Fill the 4096 words.
      (local.set $i (i32.const 0))
      (loop $fill
        (i32.store (i32.shl (local.get $i) (i32.const 2))
                   (call $word (local.get $seed) (local.get $i)))
        (br_if $fill (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                             (i32.const 4096))))
      ;; Read them back.
      (local.set $i (i32.const 0))
      (loop $check
        (if (i32.ne (i32.load (i32.shl (local.get $i) (i32.const 2)))
                    (call $word (local.get $seed) (local.get $i)))
          (then (return (i64.or (i64.const 0xBAD0000000000000)
                                (i64.extend_i32_u (local.get $i))))))
        (local.set $sum
          (i64.add (i64.mul (local.get $sum) (i64.const 31))
                   (i64.extend_i32_u (i32.load (i32.shl (local.get $i) (i32.const 2))))))
        (br_if $check (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                              (i32.const 4096))))
      (br_if $passes (i32.ne (local.tee $pass (i32.add (local.get $pass) (i32.const 1)))
                             (i32.const 2))))
    (local.get $sum))
)
