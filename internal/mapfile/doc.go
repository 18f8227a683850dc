// Package mapfile reads large input files by mapping them into memory
// instead of copying them into a fresh buffer.
//
// Reading copies every byte into memory the process touches for the first
// time, and fresh memory costs a page fault a page: on the virtual
// machines CI runs on, a 20 MB file took 70 ms to read and 35 ms more to
// scan once. Mapped, its pages come straight from the page cache (the
// kernel maps them sixteen at a time) and the same read and scan take
// 12 ms. kura's loaders leave the tree's strings pointing into their
// input (format.SharedLoader), so the mapping is the only copy of the
// file in memory.
//
// The mapping is private and writable: writing to it changes only this
// process's copy, as with a buffer. A file replaced by rename (editors,
// Git, kura itself) does not affect a mapping of the old one. A file
// truncated by another process while it is mapped makes reads past its
// new end fault; goroutines that read mapped memory turn such faults into
// panics (debug.SetPanicOnFault), which kura reports as an input that
// changed while it was read.
//
// Mappings last until the process exits: trees and strings may point into
// them at any time. Small files, files other than regular ones, and
// every file after the first MaxMapped are read as usual.
package mapfile
