package fleet

import (
	"github.com/diffy-dfir/diffy/payload"
)

// processesQuery is the standard pack's processes query, as osqueryi's
// command line shows it while it runs.
var processesQuery = func() string {
	for _, c := range payload.StandardPack() {
		if c.ID == payload.Processes {
			return c.Query
		}
	}
	panic("fleet: the standard pack has no processes query")
}()

// tokenRows adds, with FamilyTokens, the rows whose values carry the
// host's own tokens beyond the roles' command lines: systemd-networkd's
// DHCP client socket on the host's private address, and the collection's
// own processes, caught by the processes query while it runs (the SSM
// document worker with the command's ID and the instance's, the shell
// running the command's script from a directory named after both, and
// osqueryi itself).
func (g *hostGen) tokenRows() {
	if !g.on(FamilyTokens) {
		return
	}
	if g.networkd.pid != 0 {
		g.listen(g.networkd, g.id.instance.PrivateIP, 68, udp)
	}
	r := g.now(FamilyTokens)
	id, cmd := g.id.instance.ID, g.s.p.commandID
	t := g.at - int64(1+r.IntN(3))
	dir := "/snap/amazon-ssm-agent/" + g.ssmRevision()
	doc := g.spawn(g.childPid(r, g.agentWorker, t), "ssm-document-wo", dir+"/ssm-document-worker", dir+"/ssm-document-worker "+cmd+" "+id, 0, g.agentWorker.pid, t)
	sh := g.spawn(g.childPid(r, doc, t), "sh", "/usr/bin/dash",
		"/bin/sh -c /var/lib/amazon/ssm/"+id+"/document/orchestration/"+cmd+"/awsrunShellScript/0.awsrunShellScript/_script.sh", 0, doc.pid, t)
	g.spawn(g.childPid(r, sh, g.at), "osqueryi", "/opt/osquery/bin/osqueryd", "osqueryi --json "+processesQuery, 0, sh.pid, g.at)
}
