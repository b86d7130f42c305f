package collect

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
)

// cronFiles are the system crontab and the directories of crontab files,
// read in this order, as osquery's crontab table reads them.
var (
	systemCrontab = "/etc/crontab"
	cronDirs      = []string{"/etc/cron.d", "/var/at/tabs", "/var/spool/cron", "/var/spool/cron/crontabs"}
)

// probeCrontab answers the crontab query: event, minute, hour,
// day_of_month, month, day_of_week, command, path for every entry of
// /etc/crontab and of the files in /etc/cron.d, /var/spool/cron and
// /var/spool/cron/crontabs (sorted by name). Comments, blank lines and
// variable settings (NAME=value) are skipped. An "@reboot"-style line
// fills event and command only. As in osquery, fields are split on spaces
// and tabs and the command is joined with single spaces; in the system
// crontab and /etc/cron.d the command starts with the user field.
func probeCrontab(ctx context.Context, env *probeEnv) ([]Row, error) {
	files := []string{systemCrontab}
	for _, d := range cronDirs {
		files = append(files, env.listFiles(d)...)
	}
	rows := []Row{}
	for _, file := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		data, ok, err := env.readConfig(file)
		if err != nil {
			return nil, err
		}
		if ok {
			rows = append(rows, parseCrontab(data, file)...)
		}
	}
	return rows, nil
}

// parseCrontab returns the entries of one crontab file at host path file.
func parseCrontab(data []byte, file string) []Row {
	var rows []Row
	for _, line := range lines(data) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || isCronVariable(line) {
			continue
		}
		f := strings.Fields(line)
		r := Row{"event": "", "minute": "", "hour": "", "day_of_month": "", "month": "", "day_of_week": "", "command": "", "path": file}
		if f[0][0] == '@' {
			r["event"], f = f[0], f[1:]
		} else {
			for i, col := range []string{"minute", "hour", "day_of_month", "month", "day_of_week"} {
				if i < len(f) {
					r[col] = f[i]
				}
			}
			f = f[min(5, len(f)):]
		}
		r["command"] = strings.Join(f, " ")
		if r["command"] == "" {
			continue // not an entry, as osquery judges it
		}
		rows = append(rows, r)
	}
	return rows
}

// isCronVariable reports whether a crontab line sets a variable: a name
// without spaces, then '=' (cron allows spaces around it). Schedule fields
// never hold '='.
func isCronVariable(line string) bool {
	name, _, ok := strings.Cut(line, "=")
	name = strings.TrimSpace(name)
	return ok && name != "" && !strings.ContainsAny(name, " \t")
}

// probeKernelModules answers the kernel_modules query: name, size,
// used_by, status, address of every line of /proc/modules, as osquery
// reads it: used_by is the list field without its trailing comma ("-" when
// no module uses it). A kernel without loadable modules has no
// /proc/modules: no rows, and a note on stderr.
func probeKernelModules(ctx context.Context, env *probeEnv) ([]Row, error) {
	data, err := os.ReadFile(env.path("/proc/modules"))
	if errors.Is(err, fs.ErrNotExist) {
		env.note("/proc/modules does not exist: this kernel has no loadable modules")
		return []Row{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("/proc/modules: %w", unwrapPath(err))
	}
	return parseModules(data), nil
}

// parseModules parses /proc/modules lines "name size refs used_by, status
// address [taints]", skipping lines of fewer than six fields as osquery
// does.
func parseModules(data []byte) []Row {
	rows := []Row{}
	for _, line := range lines(data) {
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		for i := range f[:6] {
			if len(f[i]) > 1 {
				f[i] = strings.TrimSuffix(f[i], ",")
			}
		}
		rows = append(rows, Row{"name": f[0], "size": f[1], "used_by": f[3], "status": f[4], "address": f[5]})
	}
	return rows
}

// passwdFile is the host path of the user database.
const passwdFile = "/etc/passwd"

// user is one line of /etc/passwd.
type user struct {
	name, uid, gid, gecos, home, shell string
}

// probeUsers answers the users query: uid, gid, username, description,
// directory, shell of every valid line of /etc/passwd, in file order.
func probeUsers(ctx context.Context, env *probeEnv) ([]Row, error) {
	users, err := env.users()
	if err != nil {
		return nil, err
	}
	rows := make([]Row, 0, len(users))
	for _, u := range users {
		rows = append(rows, Row{"uid": u.uid, "gid": u.gid, "username": u.name, "description": u.gecos, "directory": u.home, "shell": u.shell})
	}
	return rows, nil
}

// users reads /etc/passwd. Lines that are not seven ':'-separated fields
// with a decimal uid and gid (comments, NIS "+" entries) are skipped with
// a note, as getpwent skips them. A missing or unreadable file is an
// error: there is no answer without it.
func (e *probeEnv) users() ([]user, error) {
	data, ok, err := e.readConfig(passwdFile)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s cannot be read", passwdFile)
	}
	return parsePasswd(data, e), nil
}

// parsePasswd parses passwd lines; env, when not nil, gets a note per
// skipped line.
func parsePasswd(data []byte, env *probeEnv) []user {
	var out []user
	for n, line := range lines(data) {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != 7 || f[0] == "" || !isDecimal(f[2]) || !isDecimal(f[3]) {
			if env != nil {
				env.note("%s line %d is not a user entry; skipped", passwdFile, n+1)
			}
			continue
		}
		out = append(out, user{name: f[0], uid: f[2], gid: f[3], gecos: f[4], home: f[5], shell: f[6]})
	}
	return out
}

func isDecimal(s string) bool {
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil
}

// authorizedKeysFiles are the key files read in each user's home, in order.
var authorizedKeysFiles = []string{".ssh/authorized_keys", ".ssh/authorized_keys2"}

// probeAuthorizedKeys answers the authorized_keys query: username,
// algorithm, key, key_file for every key line of ~/.ssh/authorized_keys
// and ~/.ssh/authorized_keys2 of every user of /etc/passwd, in the order
// of the users. Options before the key ("from=...", "command=\"...\"") are
// skipped; comments and blank lines too. Key files that are not regular
// files (a link to /dev/null, a FIFO) are skipped with a note on stderr.
// Unlike osquery, the probe does not switch to each user to read their
// files; it reads them as the collector's own user.
func probeAuthorizedKeys(ctx context.Context, env *probeEnv) ([]Row, error) {
	users, err := env.users()
	if err != nil {
		return nil, err
	}
	rows := []Row{}
	for _, u := range users {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !strings.HasPrefix(u.home, "/") {
			continue
		}
		for _, name := range authorizedKeysFiles {
			file := path.Join(u.home, name)
			data, ok, err := env.readConfig(file)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			for _, line := range lines(data) {
				if algo, key, ok := parseAuthorizedKey(line); ok {
					rows = append(rows, Row{"username": u.name, "algorithm": algo, "key": key, "key_file": file})
				}
			}
		}
	}
	return rows, nil
}

// parseAuthorizedKey parses one authorized_keys line "[options] algorithm
// base64-key [comment]". The line has options when its first word is not a
// key type and the second is not a key blob (key blobs start "AAAA", the
// length of their type name); the options end at the first space or tab
// outside double quotes. ok is false for comments, blank lines and lines
// with no key.
func parseAuthorizedKey(line string) (algo, key string, ok bool) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return "", "", false
	}
	f := strings.Fields(line)
	if !isKeyType(f[0]) && !(len(f) > 1 && strings.HasPrefix(f[1], "AAAA")) {
		rest, found := skipKeyOptions(line)
		if !found {
			return "", "", false
		}
		f = strings.Fields(rest)
	}
	if len(f) < 2 {
		return "", "", false
	}
	return f[0], f[1], true
}

// skipKeyOptions returns what follows the options at the start of line,
// whose quoted parts may hold spaces and \" escapes; found is false when
// nothing follows.
func skipKeyOptions(line string) (rest string, found bool) {
	quoted := false
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\\' && quoted && i+1 < len(line) && line[i+1] == '"':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && (c == ' ' || c == '\t'):
			rest = strings.TrimSpace(line[i:])
			return rest, rest != ""
		}
	}
	return "", false
}

// isKeyType reports whether s names an SSH public key algorithm that
// OpenSSH accepts in authorized_keys.
func isKeyType(s string) bool {
	s = strings.TrimSuffix(s, "-cert-v01@openssh.com")
	switch s {
	case "ssh-rsa", "ssh-dss", "ssh-ed25519", "ssh-ed448", "ssh-xmss@openssh.com",
		"ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
		"sk-ecdsa-sha2-nistp256@openssh.com", "sk-ssh-ed25519@openssh.com",
		"sk-ecdsa-sha2-nistp256", "sk-ssh-ed25519":
		return true
	}
	return false
}
