package zohosim

import (
	"fmt"
	"net/http"
	"sort"
)

// DebugPathPrefix is the path prefix of the simulator's own debugging
// endpoints. Zoho has nothing under it (its accounts host serves /oauth/…, its
// API host /crm/…), so a client that reaches one of these is not talking to
// anything Zoho would answer.
const DebugPathPrefix = "/zohosim/"

// Debugging endpoints, for the standalone simulator (cmd/zohosim) and manual
// tests; they need no token:
//
//	GET /zohosim/grant-code           a fresh single-use grant code ([Server.GrantCode]),
//	                                  text/plain, one line: for `consumer zoho token exchange --code`
//	GET /zohosim/records?module=Leads the module's stored records ([Server.Records]) as JSON:
//	                                  {"module":"Leads","count":N,"records":[{…,"id":"…"},…]};
//	                                  module defaults to Leads; an unknown module answers 404
//	                                  {"error":"unknown module \"X\"","modules":[…]}
//
// Any other path under /zohosim/ answers 404 with [DebugEndpoints].
func (s *Server) registerDebug(mux *http.ServeMux) {
	mux.HandleFunc("GET "+DebugPathPrefix+"grant-code", s.handleDebugGrantCode)
	mux.HandleFunc("GET "+DebugPathPrefix+"records", s.handleDebugRecords)
	mux.HandleFunc(DebugPathPrefix, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, DebugEndpoints)
	})
}

// DebugEndpoints lists the debugging endpoints, one per line, for help texts
// (and the answer to any other path under [DebugPathPrefix]).
const DebugEndpoints = `GET /zohosim/grant-code              a fresh single-use grant code (text, one line), for consumer zoho token exchange --code
GET /zohosim/records?module=Leads    the module's stored records as JSON {"module","count","records":[…]}
`

func (s *Server) handleDebugGrantCode(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintln(w, s.GrantCode())
}

func (s *Server) handleDebugRecords(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("module")
	if name == "" {
		name = "Leads"
	}
	s.mu.Lock()
	_, known := s.modules[name]
	var names []string
	if !known {
		for n := range s.modules {
			names = append(names, n)
		}
	}
	s.mu.Unlock()
	if !known {
		sort.Strings(names)
		writeJSON(w, http.StatusNotFound, map[string]any{"error": fmt.Sprintf("unknown module %q", name), "modules": names})
		return
	}
	recs := s.Records(name)
	writeJSON(w, http.StatusOK, map[string]any{"module": name, "count": len(recs), "records": recs})
}
