;; Loops that the compiler gives a fast copy (src/jit_emit.c, "Fast
;; loops"), and loops it must refuse or leave mid-way: every condition
;; form, rising and falling addresses, negative offsets, an address that
;; wraps around 2^32, a trap in the middle, an unknown trip count. Run by
;; tools/tierdiff in every tier (ctest tierdiff.fastloop: results, traps and
;; memory must agree), by test_tier in small slices, and checked for the
;; number of fast copies compiled (cmake/check_fast_loops.cmake).
;;
;; Each export takes no argument (tierdiff's convention) and returns a
;; checksum of what it did.
(module
  (memory (export "memory") 1)

  ;; A matmul-like inner loop: two pointers step by 8, a counter by 2
  ;; until equal (clang's unrolled shape). Fast copy.
  (func (export "up_ne") (result i32)
    (local $c i32) (local $b i32) (local $j i32) (local $x i32)
    (local.set $c (i32.const 1024))
    (local.set $b (i32.const 8192))
    (local.set $x (i32.const 7))
    (loop $l
      (i32.store (local.get $c)
        (i32.add (i32.load (local.get $c))
                 (i32.mul (i32.load (local.get $b)) (local.get $x))))
      (i32.store offset=4 (local.get $c)
        (i32.add (i32.load offset=4 (local.get $c))
                 (i32.add (local.get $j) (local.get $x))))
      (i32.store (local.get $b) (i32.add (local.get $j) (i32.const 3)))
      (local.set $c (i32.add (local.get $c) (i32.const 8)))
      (local.set $b (i32.add (local.get $b) (i32.const 8)))
      (br_if $l (i32.ne (i32.const 600)
                        (local.tee $j (i32.add (local.get $j) (i32.const 2))))))
    (i32.add (i32.load (i32.const 1024)) (i32.load (i32.const 3412))))

  ;; A count-down that branches on the counter itself (br_if on a value:
  ;; "while n != 0"), addresses falling with a negative offset. Fast copy.
  (func (export "down_value") (result i32)
    (local $n i32) (local $p i32) (local $s i32)
    (local.set $n (i32.const 500))
    (local.set $p (i32.const 20000))
    (loop $l
      (i32.store16 offset=2 (i32.add (local.get $p) (i32.const -8))
        (local.get $n))
      (local.set $s (i32.add (local.get $s)
        (i32.load16_u (i32.add (local.get $p) (i32.const -6)))))
      (local.set $p (i32.sub (local.get $p) (i32.const 4)))
      (br_if $l (local.tee $n (i32.add (local.get $n) (i32.const -1)))))
    (i32.add (local.get $s) (local.get $p)))

  ;; "while i <u n" with a step of 3 (not a power of two: fine for an
  ;; ordered condition), an address scaled by a shift. Fast copy.
  (func (export "lt_u_step3") (result i32)
    (local $i i32) (local $s i32)
    (loop $l
      (i32.store (i32.add (i32.shl (local.get $i) (i32.const 2))
                          (i32.const 30000))
        (i32.mul (local.get $i) (local.get $i)))
      (local.set $s (i32.xor (local.get $s)
        (i32.load (i32.add (i32.shl (local.get $i) (i32.const 2))
                           (i32.const 30000)))))
      (br_if $l (i32.lt_u
                  (local.tee $i (i32.add (local.get $i) (i32.const 3)))
                  (i32.const 3001))))
    (i32.add (local.get $s) (local.get $i)))

  ;; Signed and inclusive: i from -100 to 100, the address 4*i + 40400.
  ;; Fast copy.
  (func (export "le_s") (result i32)
    (local $i i32) (local $s i64)
    (local.set $i (i32.const -100))
    (loop $l
      (i64.store (i32.add (i32.mul (local.get $i) (i32.const 8))
                          (i32.const 40800))
        (i64.extend_i32_s (local.get $i)))
      (local.set $s (i64.add (local.get $s)
        (i64.load (i32.add (i32.mul (local.get $i) (i32.const 8))
                           (i32.const 40800)))))
      (br_if $l (i32.le_s
                  (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                  (i32.const 100))))
    (i32.wrap_i64 (i64.add (local.get $s) (i64.const 1000))))

  ;; Falling pointer, "while p >u 16" on the left of the compare
  ;; written the other way round: "16 <u p". Fast copy.
  (func (export "gt_u_swapped") (result i32)
    (local $p i32) (local $s f64)
    (local.set $p (i32.const 4000))
    (loop $l
      (f64.store (local.get $p) (f64.convert_i32_u (local.get $p)))
      (local.set $s (f64.add (local.get $s) (f64.load (local.get $p))))
      (br_if $l (i32.lt_u (i32.const 16)
                  (local.tee $p (i32.sub (local.get $p) (i32.const 8))))))
    (i32.trunc_f64_u (local.get $s)))

  ;; "while i >=s -50", falling by 2, through eqz of the opposite test.
  ;; Fast copy.
  (func (export "ge_s_eqz") (result i32)
    (local $i i32) (local $s i32)
    (local.set $i (i32.const 200))
    (loop $l
      (i32.store8 (i32.add (local.get $i) (i32.const 50000))
        (local.get $i))
      (local.set $s (i32.add (local.get $s)
        (i32.load8_s (i32.add (local.get $i) (i32.const 50000)))))
      (br_if $l (i32.eqz (i32.lt_s
                  (local.tee $i (i32.add (local.get $i) (i32.const -2)))
                  (i32.const -50)))))
    (local.get $s))

  ;; The address wraps around 2^32 before the loop starts:
  ;; 0xfffffff0 + 0x20 is 0x10, in bounds. Fast copy, which must use
  ;; the wrapped address.
  (func (export "wrapped") (result i32)
    (local $p i32) (local $i i32) (local $s i32)
    (local.set $p (i32.const 0xfffffff0))
    (loop $l
      (i32.store (i32.add (local.get $p) (i32.const 0x20)) (local.get $i))
      (local.set $s (i32.add (local.get $s)
        (i32.load (i32.add (local.get $p) (i32.const 0x20)))))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                        (i32.const 64))))
    (i32.add (local.get $s) (i32.load (i32.const 0x10))))

  ;; Stores run off the end of memory at iteration 1000 of 4000: the
  ;; check refuses the fast copy, the checked one traps there, and the
  ;; 1000 stores before the trap are in memory (tierdiff compares it).
  (func (export "oob_midway") (result i32)
    (local $p i32) (local $i i32)
    (local.set $p (i32.const 61536))
    (loop $l
      (i32.store (local.get $p) (i32.add (local.get $i) (i32.const 1)))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                        (i32.const 4000))))
    (local.get $i))

  ;; The last of 20 stores is half out of bounds (65534..65537): the
  ;; check must count the access's size, not only its address.
  (func (export "oob_by_two_bytes") (result i32)
    (local $p i32) (local $i i32)
    (local.set $p (i32.const 65458))
    (loop $l
      (i32.store (local.get $p) (i32.const -1))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                        (i32.const 20))))
    (local.get $i))

  ;; A falling address goes below 0 at the sixth of 20 loads, that is
  ;; past 2^32 - 8 once wrapped: out of bounds, a trap.
  (func (export "below_zero") (result i32)
    (local $p i32) (local $i i32) (local $s i32)
    (local.set $p (i32.const 40))
    (loop $l
      (local.set $s (i32.add (local.get $s) (i32.load (local.get $p))))
      (local.set $p (i32.sub (local.get $p) (i32.const 8)))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                        (i32.const 20))))
    (local.get $s))

  ;; An odd distance with a step of 2: the counter never equals the end,
  ;; so the count is unknown and the checked copy runs until the stores
  ;; leave memory.
  (func (export "never_equal") (result i32)
    (local $i i32)
    (loop $l
      (i32.store (i32.add (i32.shl (local.get $i) (i32.const 3))
                          (i32.const 52000))
        (local.get $i))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 2)))
                        (i32.const 101))))
    (local.get $i))

  ;; A data-dependent address (a table lookup) keeps its check inside the
  ;; fast copy; the affine ones lose theirs. Fast copy.
  (func (export "lookup") (result i32)
    (local $i i32) (local $h i32)
    (local.set $h (i32.const 5))
    (loop $l
      (local.set $h (i32.xor (i32.load8_u (i32.add (i32.const 1024)
                                (i32.and (local.get $h) (i32.const 255))))
                             (i32.mul (local.get $h) (i32.const 31))))
      (i32.store8 (i32.add (local.get $i) (i32.const 58000)) (local.get $h))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                          (i32.const 2000))))
    (local.get $h))

  ;; A float reduction over a row, inside an outer loop (only the inner
  ;; loop is a candidate). Fast copy.
  (func (export "nested") (result i32)
    (local $r i32) (local $j i32) (local $acc f32) (local $q i32)
    (loop $rows
      (local.set $j (i32.const 0))
      (local.set $q (i32.add (i32.const 8192) (i32.shl (local.get $r) (i32.const 7))))
      (loop $cols
        (local.set $acc (f32.add (local.get $acc)
          (f32.convert_i32_s (i32.load (local.get $q)))))
        (local.set $q (i32.add (local.get $q) (i32.const 4)))
        (br_if $cols (i32.ne (local.tee $j (i32.add (local.get $j) (i32.const 1)))
                             (i32.const 32))))
      (br_if $rows (i32.ne (local.tee $r (i32.add (local.get $r) (i32.const 1)))
                           (i32.const 16))))
    (i32.trunc_f32_s (local.get $acc)))

  ;; Too few iterations to be worth the check: the checked copy runs.
  (func (export "short") (result i32)
    (local $i i32) (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s) (i32.load (i32.const 1024))))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                        (i32.const 3))))
    (local.get $s))

  ;; Not candidates: a call in the body, and a body with a block.
  (func $id (param i32) (result i32) (local.get 0))
  (func (export "with_call") (result i32)
    (local $i i32) (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s) (call $id (local.get $i))))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                        (i32.const 100))))
    (local.get $s))
  (func (export "with_block") (result i32)
    (local $i i32) (local $s i32)
    (loop $l
      (block $b
        (br_if $b (i32.and (local.get $i) (i32.const 1)))
        (local.set $s (i32.add (local.get $s) (local.get $i))))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                        (i32.const 100))))
    (local.get $s))
)
