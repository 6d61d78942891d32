package lakedb

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/flowq/flowq/internal/store"
)

// pin is a session's private directory of hard links to the files its
// view reads (copies where the file system refuses a link), so that a
// compaction, or another session's cache pruning, that deletes a file
// after Open listed it does not take it from DuckDB, which opens the files
// again at each query. Close removes it. It is named <pid>-<random>: a
// pin left by a process that died is removed by the next newPin beside it.
type pin struct {
	dir    string
	made   map[string]bool // directories created in it
	copied int             // files copied, not linked
	bytes  int64           // their size
}

// newPin creates a pin under parent, after removing the pins of processes
// that are gone.
func newPin(parent string) (*pin, error) {
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("session directory: %w", err)
	}
	removeDeadPins(parent)
	var rnd [6]byte
	rand.Read(rnd[:]) // never fails (crypto/rand)
	dir := filepath.Join(parent, strconv.Itoa(os.Getpid())+"-"+hex.EncodeToString(rnd[:]))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("session directory: %w", err)
	}
	return &pin{dir: dir, made: map[string]bool{}}, nil
}

// removeDeadPins removes the pins under parent whose process is gone.
// Errors are ignored: a pin left behind costs only space.
func removeDeadPins(parent string) {
	ents, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range ents {
		pid, _, ok := strings.Cut(e.Name(), "-")
		n, err := strconv.Atoi(pid)
		if !ok || err != nil || n == os.Getpid() || processAlive(n) {
			continue
		}
		os.RemoveAll(filepath.Join(parent, e.Name()))
	}
}

// processAlive reports whether process pid may still run: only a process
// known to be gone is not.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return !errors.Is(err, os.ErrProcessDone) && !errors.Is(err, syscall.ESRCH)
}

// add links src into the pin as rel (a slash-separated path that keeps
// the Hive partition directories) and returns the link's path. A src that
// is gone is an error wrapping store.ErrNotExist.
func (p *pin) add(src, rel string) (string, error) {
	dst := filepath.Join(p.dir, filepath.FromSlash(rel))
	if dir := filepath.Dir(dst); !p.made[dir] {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("session directory: %w", err)
		}
		p.made[dir] = true
	}
	err := os.Link(src, dst)
	if err == nil {
		return dst, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s: %w", src, store.ErrNotExist)
	}
	// Another file system, or one without hard links: copy.
	n, err := copyFile(src, dst)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s: %w", src, store.ErrNotExist)
	}
	if err != nil {
		return "", fmt.Errorf("copy %s into the session directory: %w", src, err)
	}
	p.copied++
	p.bytes += n
	return dst, nil
}

func copyFile(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// remove deletes the pin and everything in it.
func (p *pin) remove() error {
	if p == nil {
		return nil
	}
	return os.RemoveAll(p.dir)
}
