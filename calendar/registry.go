package calendar

import (
	"embed"
	"slices"
	"sync"
)

//go:embed data/*.json
var builtinFiles embed.FS

// builtins parses the embedded calendars once; calendars are immutable, so
// every registry can share them.
var builtins = sync.OnceValue(func() []*Calendar {
	entries, err := builtinFiles.ReadDir("data")
	if err != nil {
		panic(err)
	}
	var cals []*Calendar
	for _, e := range entries {
		data, err := builtinFiles.ReadFile("data/" + e.Name())
		if err != nil {
			panic(err)
		}
		c, err := Parse(data)
		if err != nil {
			panic("calendar: embedded " + e.Name() + ": " + err.Error())
		}
		cals = append(cals, c)
	}
	return cals
})

// Builtin returns the embedded calendar of that name ("cn", "24x7").
func Builtin(name string) (*Calendar, bool) {
	for _, c := range builtins() {
		if c.name == name {
			return c, true
		}
	}
	return nil, false
}

// Registry holds the current calendar for each name. Reads may run
// concurrently with Put and Merge; a reader keeps the *Calendar it got, which
// never changes, even if the name is replaced meanwhile.
type Registry struct {
	mu   sync.RWMutex
	cals map[string]*Calendar
}

// NewRegistry returns a registry holding the built-in calendars.
func NewRegistry() *Registry {
	r := &Registry{cals: map[string]*Calendar{}}
	for _, c := range builtins() {
		r.cals[c.name] = c
	}
	return r
}

// Get returns the calendar of that name.
func (r *Registry) Get(name string) (*Calendar, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.cals[name]
	return c, ok
}

// Put adds c, replacing any calendar of the same name whole.
func (r *Registry) Put(c *Calendar) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cals[c.name] = c
}

// Merge folds c into the calendar of the same name (see Calendar.Merge: c's
// settings win and its years replace the same years), or adds it when the
// name is new, and returns the calendar now in force.
func (r *Registry) Merge(c *Calendar) *Calendar {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.cals[c.name]; ok {
		c = old.Merge(c)
	}
	r.cals[c.name] = c
	return c
}

// Names returns the registered names in order.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.cals))
	for n := range r.cals {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
