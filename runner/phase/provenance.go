package phase

import (
	"github.com/chant-run/chant/spec/doc"
	"github.com/chant-run/chant/spec/provenance"
)

// setProvenance records in the spec what the phase was built on and the
// outputs it made (see package provenance), and notes whether they are
// those of its last phase: early cutoff, what depends on it is not stale
// on its account.
func (p *phase) setProvenance(e *doc.Editor) error {
	r := p.env
	base, err := provenance.NewTree(r.Workspace, r.Repo, p.prog.head().Commit)
	if err != nil {
		return err
	}
	approval := ""
	if p.spec.Gate() {
		approval = p.spec.Approval.Commit // spent by this phase
	}
	built, err := provenance.Record(r.Workspace, r.Specs(), provenance.Given{Contract: p.contract, Base: base, Approval: approval})
	if err != nil {
		return err
	}
	written := make(map[string][]byte, len(p.work))
	for rel, f := range p.work {
		written[rel] = f.data
	}
	outputs, err := provenance.Outputs(p.spec, base, written)
	if err != nil {
		return err
	}
	p.reproduced = p.spec.Outputs != nil && p.spec.Outputs.Equal(outputs)
	e.Set("built_on", provenance.KV(built))
	if len(outputs) > 0 {
		e.Set("outputs", provenance.BlobsKV(outputs))
	} else {
		e.Delete("outputs")
	}
	e.Delete("accepted") // what was accepted is re-made
	return nil
}
