;; WASI next to a host function of the embedder's own (env.add), and a
;; preview1 function that is imported but not implemented (proc_raise).
(module
  (import "env" "add" (func $add (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_raise"
    (func $raise (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "mixed\n")
  ;; Writes "mixed\n" to stdout and returns add(bytes written, 100).
  (func (export "run") (result i32)
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 6))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $add (i32.load (i32.const 8)) (i32.const 100)))
  (func (export "raise") (result i32) (call $raise (i32.const 2)))
  ;; fd_write of n iovecs of one byte each, "0123..." cycling, at 1024:
  ;; more iovecs than fit the host's small array.
  (func (export "many_iovs") (param $n i32) (result i32)
    (local $i i32)
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store8 (i32.add (i32.const 32768) (local.get $i))
        (i32.add (i32.const 48) (i32.rem_u (local.get $i) (i32.const 10))))
      (i32.store (i32.add (i32.const 1024) (i32.shl (local.get $i) (i32.const 3)))
        (i32.add (i32.const 32768) (local.get $i)))
      (i32.store (i32.add (i32.const 1028) (i32.shl (local.get $i) (i32.const 3)))
        (i32.const 1))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (drop (call $fd_write (i32.const 1) (i32.const 1024) (local.get $n) (i32.const 8)))
    (i32.load (i32.const 8)))
;; "mixed\n" and an empty iovec after it, the way wasi-libc's stdio
  ;; flushes: a whole line, nothing to keep.
  (func (export "line_and_empty") (result i32)
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 6))
    (i32.store (i32.const 8) (i32.const 16))
    (i32.store (i32.const 12) (i32.const 0))
    (call $fd_write (i32.const 1) (i32.const 0) (i32.const 2) (i32.const 24)))
)
