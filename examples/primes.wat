;; The module examples/pause_resume.c runs in slices: a long computation
;; that records its progress in an exported global, and a loop that never
;; ends.
(module
  ;; How many numbers count_primes has looked at so far.
  (global $checked (export "checked") (mut i32) (i32.const 0))

  ;; The number of primes below $limit, by trial division: slow on
  ;; purpose, so that it takes many slices.
  (func (export "count_primes") (param $limit i32) (result i32)
    (local $n i32) (local $d i32) (local $count i32)
    (local.set $n (i32.const 2))
    (block $done
      (loop $next_n
        (br_if $done (i32.ge_u (local.get $n) (local.get $limit)))
        (local.set $d (i32.const 2))
        (block $composite
          (block $prime
            (loop $next_d
              (br_if $prime (i32.gt_u (i32.mul (local.get $d) (local.get $d))
                                      (local.get $n)))
              (br_if $composite
                (i32.eqz (i32.rem_u (local.get $n) (local.get $d))))
              (local.set $d (i32.add (local.get $d) (i32.const 1)))
              (br $next_d)))
          (local.set $count (i32.add (local.get $count) (i32.const 1))))
        (global.set $checked (local.get $n))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $next_n)))
    (local.get $count))

  ;; Never returns: only fuel gets control back.
  (func (export "spin")
    (loop $forever (br $forever)))
)
