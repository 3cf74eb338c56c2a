;; A function preview1 does not have: a link error that names it.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "no_such_function" (func))
  (memory 1))
