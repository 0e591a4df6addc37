package data

import "errors"

// FileError reports a file (or folder) that could not be used, and why.
type FileError struct {
	Path string // the file or folder
	Err  error  // the reason
}

func (e *FileError) Error() string { return "data: " + e.Path + ": " + e.Err.Error() }

// Unwrap returns the reason.
func (e *FileError) Unwrap() error { return e.Err }

var (
	// ErrTooLarge is the reason given for an image whose header declares more
	// pixels than MaxPixels allows, or a source that needs more memory than
	// MaxMemory allows.
	ErrTooLarge = errors.New("too large")
	// ErrEmpty is the reason given for a folder or file that holds no image.
	ErrEmpty = errors.New("no images")
	// ErrFormat is the reason given for a file whose content is not what its
	// format requires (a bad IDX header, data of the wrong length).
	ErrFormat = errors.New("invalid format")
)
