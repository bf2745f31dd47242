package pool

// Reuse builds the members (pools or servers, by name) of a reloaded
// config: a member old already has whose settings are the same (same says
// so) is taken over as it is, with its connections; the others are built.
// retired are old's members next does not keep: the caller closes them
// once no call uses them. On a build error what was built is closed again
// and old is left as it was.
func Reuse[C any, M comparable](old map[string]M, cfgs map[string]C, same func(M, C) bool,
	build func(name string, cfg C) (M, error), closeMember func(M)) (next, retired map[string]M, err error) {
	next = make(map[string]M, len(cfgs))
	for name, cfg := range cfgs {
		if m, ok := old[name]; ok && same(m, cfg) {
			next[name] = m
			continue
		}
		m, err := build(name, cfg)
		if err != nil {
			Abandon(next, old, closeMember)
			return nil, nil, err
		}
		next[name] = m
	}
	retired = map[string]M{}
	for name, m := range old {
		if next[name] != m {
			retired[name] = m
		}
	}
	return next, retired, nil
}

// Abandon closes the members of next (a Reuse of old) that old does not
// share: for a rebuild that is not swapped in after all.
func Abandon[M comparable](next, old map[string]M, closeMember func(M)) {
	for name, m := range next {
		if old[name] != m {
			closeMember(m)
		}
	}
}
