;; fd_write imported with the wrong type: a link error that names it.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32) (result i32)))
  (memory 1))
