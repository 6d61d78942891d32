// Package detectflags binds the detection configuration's options
// (internal/detectconfig) to command-line flags: one flag per option, named
// and documented as the option, plus --config, the YAML document the
// Lambda reads from FLOWQ_CONFIG. Flags given on the command line override
// the document. It is apart from detectconfig so that package stays a leaf
// the CDK app imports without pflag.
package detectflags

import (
	"errors"
	"fmt"
	"slices"

	"github.com/spf13/pflag"

	"github.com/flowq/flowq/internal/detectconfig"
)

// Flags are the detector flags bound on one flag set.
type Flags struct {
	fs       *pflag.FlagSet
	file     string
	defaults detectconfig.Config
}

// optionFlag is a flag bound to a detectconfig option: it checks the value
// when given and applies it over the document in Config.
type optionFlag struct {
	opt detectconfig.Option
	val string
}

func (f *optionFlag) String() string { return f.val }
func (f *optionFlag) Type() string {
	if f.opt.IsBool() {
		return "bool"
	}
	return f.opt.Type
}
func (f *optionFlag) Set(v string) error {
	var scratch detectconfig.Config
	if err := f.opt.Set(&scratch, v); err != nil {
		return err
	}
	f.val = v
	return nil
}

// Bind binds a flag for every option but those in skip on fs, showing the
// values of defaults, and --config.
func Bind(fs *pflag.FlagSet, defaults detectconfig.Config, skip ...string) *Flags {
	f := &Flags{fs: fs, defaults: defaults}
	for _, o := range detectconfig.Options() {
		if slices.Contains(skip, o.Name) {
			continue
		}
		fl := fs.VarPF(&optionFlag{opt: o, val: o.Get(&defaults)}, o.Name, "", o.Usage)
		if o.IsBool() {
			fl.NoOptDefVal = "true"
		}
	}
	fs.StringVar(&f.file, "config", "", "detection configuration file: YAML, keys named as these flags (the Lambda's FLOWQ_CONFIG); flags override it")
	return f
}

// File returns --config's value ("" when not given).
func (f *Flags) File() string { return f.file }

// Changed reports whether the option's flag was given on the command line.
func (f *Flags) Changed(option string) bool { return f.fs.Changed(option) }

// Config returns the configuration: the --config document read with
// readFile (else the defaults), adjusted by fromFile when a document was
// read, with the flags given on the command line applied over it, then
// validated. Errors name the file and line, or the flag.
func (f *Flags) Config(readFile func(string) ([]byte, error), fromFile func(*detectconfig.Config)) (detectconfig.Config, error) {
	c := f.defaults
	if f.file != "" {
		data, err := readFile(f.file)
		if err != nil {
			return c, fmt.Errorf("--config: %w", err)
		}
		if c, err = detectconfig.Parse(f.file, data); err != nil {
			return c, err
		}
		if fromFile != nil {
			fromFile(&c)
		}
	}
	var errs []error
	f.fs.VisitAll(func(fl *pflag.Flag) {
		of, ok := fl.Value.(*optionFlag)
		if !ok || !fl.Changed {
			return
		}
		if err := of.opt.Set(&c, of.val); err != nil {
			errs = append(errs, fmt.Errorf("--%s: %w", fl.Name, err))
		}
	})
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	return c, c.Validate()
}
