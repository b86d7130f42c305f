package fleet

import (
	"github.com/diffy-dfir/diffy/analyze"
)

// Truth is what a Sim planted: which hosts, which rows.
type Truth struct {
	// IDs are the instance IDs of every host, in order.
	IDs []string `json:"ids"`
	// Compromised are the compromised hosts, in order.
	Compromised []TruthHost `json:"compromised"`
}

// TruthHost is one compromised host and what was planted on it.
type TruthHost struct {
	// Index is the host's index (Sim.Host).
	Index int `json:"index"`
	// InstanceID is the host's instance ID.
	InstanceID string `json:"instance_id"`
	// Kinds are the attacks planted (AttackKinds, or AttackCampaign).
	Kinds []string `json:"kinds"`
	// Planted are the planted rows.
	Planted []Planted `json:"planted"`
}

// Truth returns what the Sim planted. It generates the compromised hosts
// only, and the identities of the others.
func (s *Sim) Truth() *Truth {
	t := &Truth{IDs: make([]string, s.cfg.Hosts)}
	for i := range t.IDs {
		t.IDs[i] = s.identity(i).instance.ID
		if kinds, ok := s.attacks[i]; ok {
			g := s.newHostGen(i)
			g.build()
			t.Compromised = append(t.Compromised, TruthHost{Index: i, InstanceID: t.IDs[i], Kinds: kinds, Planted: g.planted})
		}
	}
	return t
}

// Evaluate scores rep against the truth, as Fleet.Evaluate does.
func (t *Truth) Evaluate(rep *analyze.Report) Evaluation {
	planted := make(map[string][]Planted, len(t.Compromised))
	for _, h := range t.Compromised {
		planted[h.InstanceID] = h.Planted
	}
	return evaluate(rep, func(yield func(string, []Planted) bool) {
		for _, id := range t.IDs {
			if !yield(id, planted[id]) {
				return
			}
		}
	})
}

// IsCompromised reports whether host i is compromised.
func (s *Sim) IsCompromised(i int) bool {
	_, ok := s.attacks[i]
	return ok
}
