;; Workloads for the pause/resume tests: a recursive one, a looping one
;; that writes memory, and one that calls into another instance.
(module
  (memory (export "memory") 1)
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  ;; Fills n words with a pattern derived from seed, then sums them back
  ;; with a different stride, mixing into an i64 checksum.
  (func (export "churn") (param $seed i32) (param $n i32) (result i64)
    (local $i i32) (local $acc i64)
    (block $done (loop $fill
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store (i32.shl (local.get $i) (i32.const 2))
        (i32.xor (i32.mul (local.get $i) (i32.const 2654435761)) (local.get $seed)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $fill)))
    (local.set $i (i32.const 0))
    (block $done2 (loop $sum
      (br_if $done2 (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $acc (i64.add (i64.rotl (local.get $acc) (i64.const 7))
        (i64.extend_i32_u (i32.load (i32.shl (local.get $i) (i32.const 2))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $sum)))
    (local.get $acc))
  ;; Deep non-tail recursion: depth n, each frame with a few locals.
  (func $deep (export "deep") (param i32) (result i32) (local i64 i64 i64)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $deep (i32.sub (local.get 0) (i32.const 1)))))))
  ;; Mutual tail recursion: constant stack however deep.
  (func $even (export "even") (param i64) (result i32)
    (if (result i32) (i64.eqz (local.get 0)) (then (i32.const 1))
      (else (return_call $odd (i64.sub (local.get 0) (i64.const 1))))))
  (func $odd (param i64) (result i32)
    (if (result i32) (i64.eqz (local.get 0)) (then (i32.const 0))
      (else (return_call $even (i64.sub (local.get 0) (i64.const 1))))))
)
