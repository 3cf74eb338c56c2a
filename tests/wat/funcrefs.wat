;; Function objects: which functions get one in the instance block
;; (placed: named by an element segment or by ref.func in code) and which
;; only when the host asks for them (exported only). test_exec's
;; test_function_objects checks both kinds in a normal instance and in an
;; actor's, which leaves the exported-only ones out of its block.
(module
  (type $v_i (func (result i32)))
  (table 1 funcref)
  (elem (i32.const 0) $e)
  (func $a (export "a") (result i32) (i32.const 1))
  (func $b (export "b") (result i32) (i32.const 2))
  (func $c (export "c") (result i32) (i32.const 3))
  (func $d (export "d") (result i32) (i32.const 4))
  (func $e (export "e") (result i32) (i32.const 5))
  ;; ref.func makes $d placed although only an export declares it.
  (func (export "get_d") (result funcref) (ref.func $d))
  (func (export "get_e") (result funcref) (table.get 0 (i32.const 0)))
  (func (export "call_e") (result i32) (call_indirect (type $v_i) (i32.const 0))))
