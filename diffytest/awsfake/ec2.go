package awsfake

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ec2Namespace is the XML namespace of EC2 API version 2016-11-15.
const ec2Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"

func (s *Server) serveEC2(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.counter("ec2:?").calls.Add(1)
		s.writeEC2Error(w, http.StatusBadRequest, "InvalidParameterValue", "cannot read the form: "+err.Error())
		return
	}
	action := r.PostForm.Get("Action")
	if action == "" {
		action = r.Form.Get("Action")
	}
	name := "ec2:" + action
	if s.applyFaults(w, r, "ec2", name,
		func(w http.ResponseWriter) {
			s.writeEC2Error(w, http.StatusServiceUnavailable, "RequestLimitExceeded", "Request limit exceeded.")
		},
		func(w http.ResponseWriter) {
			s.writeEC2Error(w, http.StatusInternalServerError, "InternalError", "An internal error has occurred (awsfake: injected).")
		}) == answered {
		return
	}
	switch action {
	case "DescribeInstances":
		status, code, msg := s.describeInstances(w, r)
		if code != "" {
			s.counter(name).errors.Add(1)
			s.writeEC2Error(w, status, code, msg)
		}
	default:
		s.counter(name).errors.Add(1)
		s.writeEC2Error(w, http.StatusBadRequest, "InvalidAction", fmt.Sprintf("The action %s is not valid for this web service (awsfake simulates DescribeInstances).", action))
	}
}

func (s *Server) writeEC2Error(w http.ResponseWriter, status int, code, msg string) {
	type xmlError struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	var body struct {
		XMLName   xml.Name   `xml:"Response"`
		Errors    []xmlError `xml:"Errors>Error"`
		RequestID string     `xml:"RequestID"`
	}
	body.Errors = []xmlError{{code, msg}}
	body.RequestID = s.requestID()
	data, _ := xml.Marshal(body)
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(data)
}

type ec2Filter struct {
	name   string
	values []string
}

// indexed collects form values of PREFIX.N (or PREFIX.N.SUFFIX) in N order.
func indexed(form map[string][]string, prefix, suffix string) []string {
	type kv struct {
		n int
		v string
	}
	var out []kv
	for k, v := range form {
		rest, ok := strings.CutPrefix(k, prefix+".")
		if !ok || len(v) == 0 {
			continue
		}
		num := rest
		if suffix != "" {
			var ok2 bool
			num, ok2 = strings.CutSuffix(rest, "."+suffix)
			if !ok2 {
				continue
			}
		}
		n, err := strconv.Atoi(num)
		if err != nil {
			continue
		}
		out = append(out, kv{n, v[0]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].n < out[j].n })
	vs := make([]string, len(out))
	for i, x := range out {
		vs[i] = x.v
	}
	return vs
}

func parseFilters(form map[string][]string) []ec2Filter {
	nums := map[int]bool{}
	for k := range form {
		rest, ok := strings.CutPrefix(k, "Filter.")
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, ".")
		if n, err := strconv.Atoi(num); err == nil {
			nums[n] = true
		}
	}
	var ns []int
	for n := range nums {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	var fs []ec2Filter
	for _, n := range ns {
		p := "Filter." + strconv.Itoa(n)
		name := ""
		if v := form[p+".Name"]; len(v) > 0 {
			name = v[0]
		}
		fs = append(fs, ec2Filter{name: name, values: indexed(form, p+".Value", "")})
	}
	return fs
}

// glob matches s against an EC2 filter value, where * matches any run of
// characters and ? any one character.
func glob(pattern, s string) bool {
	if !strings.ContainsAny(pattern, "*?") {
		return pattern == s
	}
	p, t := 0, 0
	star, mark := -1, 0
	for t < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[t]):
			p++
			t++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, t
			p++
		case star >= 0:
			p = star + 1
			mark++
			t = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

func anyGlob(patterns []string, vs ...string) bool {
	for _, p := range patterns {
		for _, v := range vs {
			if glob(p, v) {
				return true
			}
		}
	}
	return false
}

// stateName returns the instance's EC2 state at now, and its code.
func (in *instance) stateName(now time.Time) (string, int) {
	if in.terminated(now) {
		return "terminated", 48
	}
	return "running", 16
}

func (in *instance) matches(f ec2Filter, now time.Time) (bool, error) {
	inst := in.Instance.Instance
	switch {
	case f.name == "instance-state-name":
		st, _ := in.stateName(now)
		return anyGlob(f.values, st), nil
	case f.name == "instance-id":
		return anyGlob(f.values, inst.ID), nil
	case f.name == "tag-key":
		for k := range inst.Tags {
			if anyGlob(f.values, k) {
				return true, nil
			}
		}
		return false, nil
	case f.name == "tag-value":
		for _, v := range inst.Tags {
			if anyGlob(f.values, v) {
				return true, nil
			}
		}
		return false, nil
	case strings.HasPrefix(f.name, "tag:"):
		v, ok := inst.Tags[f.name[len("tag:"):]]
		return ok && anyGlob(f.values, v), nil
	case f.name == "image-id":
		return anyGlob(f.values, inst.ImageID), nil
	case f.name == "private-ip-address":
		return anyGlob(f.values, inst.PrivateIP), nil
	case f.name == "availability-zone":
		return anyGlob(f.values, in.AvailabilityZone), nil
	case f.name == "instance-type":
		return anyGlob(f.values, in.InstanceType), nil
	case f.name == "owner-id":
		return anyGlob(f.values, inst.Account), nil
	}
	return false, fmt.Errorf("the filter '%s' is invalid (awsfake supports instance-state-name, instance-id, tag:KEY, tag-key, tag-value, image-id, private-ip-address, availability-zone, instance-type, owner-id)", f.name)
}

// XML shapes of DescribeInstances.

type xmlTag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type xmlInstance struct {
	InstanceID    string `xml:"instanceId"`
	ImageID       string `xml:"imageId"`
	InstanceState struct {
		Code int    `xml:"code"`
		Name string `xml:"name"`
	} `xml:"instanceState"`
	PrivateDNSName string `xml:"privateDnsName"`
	InstanceType   string `xml:"instanceType"`
	LaunchTime     string `xml:"launchTime,omitempty"`
	Placement      struct {
		AvailabilityZone string `xml:"availabilityZone"`
		Tenancy          string `xml:"tenancy"`
	} `xml:"placement"`
	PrivateIPAddress string   `xml:"privateIpAddress,omitempty"`
	Architecture     string   `xml:"architecture"`
	RootDeviceType   string   `xml:"rootDeviceType"`
	Tags             []xmlTag `xml:"tagSet>item"`
}

type xmlReservation struct {
	ReservationID string        `xml:"reservationId"`
	OwnerID       string        `xml:"ownerId"`
	Instances     []xmlInstance `xml:"instancesSet>item"`
}

type describeInstancesResponse struct {
	XMLName      xml.Name         `xml:"DescribeInstancesResponse"`
	Xmlns        string           `xml:"xmlns,attr"`
	RequestID    string           `xml:"requestId"`
	Reservations []xmlReservation `xml:"reservationSet>item"`
	NextToken    string           `xml:"nextToken,omitempty"`
}

// describeInstances answers DescribeInstances; it returns an error status,
// code and message, or writes the answer and returns code "".
func (s *Server) describeInstances(w http.ResponseWriter, r *http.Request) (int, string, string) {
	form := r.Form
	ids := indexed(form, "InstanceId", "")
	filters := parseFilters(form)
	maxRes := 0
	if v := form.Get("MaxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 5 || n > 1000 {
			return 400, "InvalidParameterValue", fmt.Sprintf("Value (%s) for parameter maxResults is invalid. Expecting a value between 5 and 1000.", v)
		}
		if len(ids) > 0 {
			return 400, "InvalidParameterCombination", "The parameter instancesSet cannot be used with the parameter maxResults"
		}
		maxRes = n
	}
	for _, f := range filters {
		if f.name == "" || len(f.values) == 0 {
			return 400, "InvalidParameterValue", fmt.Sprintf("The filter %q needs a name and at least one value", f.name)
		}
	}
	now := s.firstAttempt("ec2:DescribeInstances", r)
	var sel []*instance
	if len(ids) > 0 {
		var missing []string
		seen := map[string]bool{}
		for _, id := range ids {
			in, ok := s.fleet().byID[id]
			if !ok {
				missing = append(missing, id)
				continue
			}
			if !seen[id] {
				seen[id] = true
				sel = append(sel, in)
			}
		}
		if len(missing) > 0 {
			q := make([]string, len(missing))
			for i, id := range missing {
				q[i] = "'" + id + "'"
			}
			verb := "does"
			if len(missing) > 1 {
				verb = "do"
			}
			return 400, "InvalidInstanceID.NotFound", fmt.Sprintf("The instance ID%s %s %s not exist", plural(len(missing)), strings.Join(q, ", "), verb)
		}
		sort.Slice(sel, func(i, j int) bool { return sel[i].index < sel[j].index })
	} else {
		sel = s.fleet().instances
	}
	var matched []*instance
	for _, in := range sel {
		ok := true
		for _, f := range filters {
			m, err := in.matches(f, now)
			if err != nil {
				return 400, "InvalidParameterValue", err.Error()
			}
			if !m {
				ok = false
				break
			}
		}
		if ok {
			matched = append(matched, in)
		}
	}
	// The token is tied to the query it pages, without the token itself.
	tokQuery := stripParam(r.Form, "NextToken")
	off := 0
	if tok := form.Get("NextToken"); tok != "" {
		n, aerr := decodeToken(tok, tokQuery)
		if aerr != nil {
			return 400, "InvalidParameterValue", "The nextToken is not valid for this request"
		}
		off = min(n, len(matched))
	}
	end := len(matched)
	if maxRes > 0 {
		end = min(off+maxRes, len(matched))
	}
	resp := describeInstancesResponse{Xmlns: ec2Namespace, RequestID: s.requestID(), Reservations: []xmlReservation{}}
	for _, in := range matched[off:end] {
		resp.Reservations = append(resp.Reservations, in.reservationXML(now))
	}
	if end < len(matched) {
		resp.NextToken = encodeToken(tokQuery, end)
	}
	data, err := xml.Marshal(resp)
	if err != nil {
		return 500, "InternalError", err.Error()
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(xml.Header)+len(data)))
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(data)
	// Vanishing instances go away once a caller has seen them.
	for _, in := range matched[off:end] {
		if in.has(FaultVanishing) {
			in.terminate(now.Add(time.Nanosecond))
		}
		if in.has(FaultAgentLost) {
			in.loseAgent(now.Add(time.Nanosecond))
		}
	}
	return 0, "", ""
}

func stripParam(form map[string][]string, name string) string {
	cp := make(map[string][]string, len(form))
	for k, v := range form {
		if k != name {
			cp[k] = v
		}
	}
	keys := sortedIDs(cp)
	var b strings.Builder
	b.WriteString("di|")
	for _, k := range keys {
		b.WriteString(k + "=" + strings.Join(cp[k], ",") + "&")
	}
	return b.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (in *instance) reservationXML(now time.Time) xmlReservation {
	inst := in.Instance.Instance
	x := xmlInstance{
		InstanceID: inst.ID, ImageID: inst.ImageID, InstanceType: in.InstanceType,
		PrivateIPAddress: inst.PrivateIP, Architecture: "x86_64", RootDeviceType: "ebs",
	}
	x.InstanceState.Name, x.InstanceState.Code = in.stateName(now)
	if inst.PrivateIP != "" {
		x.PrivateDNSName = "ip-" + strings.ReplaceAll(inst.PrivateIP, ".", "-") + ".ec2.internal"
	}
	if !inst.LaunchTime.IsZero() {
		x.LaunchTime = inst.LaunchTime.UTC().Format(isoMillis)
	}
	x.Placement.AvailabilityZone = in.AvailabilityZone
	x.Placement.Tenancy = "default"
	tags := inst.Tags
	hasName := false
	for _, k := range sortedIDs(tags) {
		x.Tags = append(x.Tags, xmlTag{k, tags[k]})
		if k == "Name" {
			hasName = true
		}
	}
	if !hasName && inst.Name != "" {
		x.Tags = append(x.Tags, xmlTag{"Name", inst.Name})
	}
	return xmlReservation{ReservationID: in.reservation, OwnerID: inst.Account, Instances: []xmlInstance{x}}
}
