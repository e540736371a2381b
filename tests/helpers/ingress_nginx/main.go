// Copied by tests/helpers/ingress_nginx into ingress-nginx's cmd/openedx-check/ and built inside that module:
// reads {"risk_level", "configmap", "ingresses": [{"name", "annotations"}]} as JSON on stdin and prints
// the controller's own verdict on every ConfigMap key and annotation. Test harness, not product.

package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"k8s.io/klog/v2"

	"k8s.io/ingress-nginx/internal/ingress/annotations"
	"k8s.io/ingress-nginx/internal/ingress/controller/config"
	"k8s.io/ingress-nginx/internal/ingress/controller/template"
	"k8s.io/ingress-nginx/internal/ingress/defaults"
	"k8s.io/ingress-nginx/internal/ingress/resolver"
)

type input struct {
	RiskLevel string            `json:"risk_level"`
	ConfigMap map[string]string `json:"configmap"`
	Ingresses []struct {
		Name        string            `json:"name"`
		Annotations map[string]string `json:"annotations"`
	} `json:"ingresses"`
}

type keyVerdict struct {
	Verdict string `json:"verdict"` // ok | unknown | no-effect
	Parsed  string `json:"parsed,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

type ingressVerdict struct {
	Name         string                                `json:"name"`
	Annotations  map[string]annotations.OpenedxVerdict `json:"annotations"`
	ExtractError string                                `json:"extract_error,omitempty"`
}

// checkResolver answers the parsers like the controller's store: its defaults and security settings.
type checkResolver struct {
	resolver.Mock
	backend defaults.Backend
	risk    string
}

func (r checkResolver) GetDefaultBackend() defaults.Backend { return r.backend }

func (r checkResolver) GetSecurityConfiguration() defaults.SecurityConfiguration {
	return defaults.SecurityConfiguration{AnnotationsRiskLevel: r.risk}
}

// perturbed returns a copy of the defaults in which every scalar differs.
func perturbed(b defaults.Backend) defaults.Backend {
	v := reflect.ValueOf(&b).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Bool:
			f.SetBool(!f.Bool())
		case reflect.Int, reflect.Int32, reflect.Int64:
			f.SetInt(f.Int() + 7)
		case reflect.Uint, reflect.Uint32, reflect.Uint64:
			f.SetUint(f.Uint() + 7)
		case reflect.Float32, reflect.Float64:
			f.SetFloat(f.Float() + 7)
		case reflect.String:
			f.SetString(f.String() + "7")
		case reflect.Slice:
			if f.Type().Elem().Kind() == reflect.String {
				f.Set(reflect.Append(f, reflect.ValueOf("openedx-check")))
			}
		}
	}
	return b
}

// configKeys: every ConfigMap key the controller's Configuration declares (json tags, squashed structs included).
func configKeys(t reflect.Type, keys map[string]bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			configKeys(f.Type, keys)
			continue
		}
		if name != "" && name != "-" {
			keys[name] = true
		}
	}
}

func asMap(c config.Configuration) map[string]interface{} {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	m := map[string]interface{}{}
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	return m
}

// same: does the controller's parsed value equal the string that was set?
func same(set string, parsed interface{}) bool {
	switch p := parsed.(type) {
	case nil:
		return set == ""
	case string:
		return p == set
	case bool:
		b, err := strconv.ParseBool(set)
		return err == nil && b == p
	case float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(set), 64)
		return err == nil && f == p
	case []interface{}:
		parts := make([]string, 0, len(p))
		for _, item := range p {
			parts = append(parts, fmt.Sprint(item))
		}
		return strings.Join(parts, ",") == strings.ReplaceAll(set, " ", "")
	}
	return false
}

func checkConfigMap(cm map[string]string) map[string]keyVerdict {
	known := map[string]bool{}
	configKeys(reflect.TypeOf(config.Configuration{}), known)
	full := asMap(template.ReadConfig(cm))
	out := map[string]keyVerdict{}
	for key, value := range cm {
		if !known[key] {
			out[key] = keyVerdict{Verdict: "unknown", Detail: "the controller's Configuration has no key " + key}
			continue
		}
		// Alone (a value the decoder rejects names its own key) and together with the rest.
		alone := asMap(template.ReadConfig(map[string]string{key: value}))[key]
		together := full[key]
		v := keyVerdict{Verdict: "ok", Parsed: string(mustJSON(together))}
		if !same(value, alone) || !same(value, together) {
			v.Verdict = "no-effect"
			v.Detail = fmt.Sprintf("set %q, the controller read %s (alone) and %s (with the rest)", value, mustJSON(alone), mustJSON(together))
		}
		out[key] = v
	}
	return out
}

func mustJSON(v interface{}) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(fmt.Sprintf("%q", fmt.Sprint(v)))
	}
	return b
}

func main() {
	klog.InitFlags(nil)
	_ = flag.Set("logtostderr", "true")
	_ = flag.Set("v", "0")
	flag.Parse()
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintf(os.Stderr, "openedx-check: bad input JSON: %v\n", err)
		os.Exit(2)
	}
	if in.RiskLevel == "" {
		fmt.Fprintln(os.Stderr, "openedx-check: risk_level is required (the controller's annotations-risk-level)")
		os.Exit(2)
	}
	cfg := template.ReadConfig(in.ConfigMap)
	r := checkResolver{backend: cfg.Backend, risk: in.RiskLevel}
	alt := checkResolver{backend: perturbed(cfg.Backend), risk: in.RiskLevel}
	ingresses := make([]ingressVerdict, 0, len(in.Ingresses))
	sort.SliceStable(in.Ingresses, func(i, j int) bool { return in.Ingresses[i].Name < in.Ingresses[j].Name })
	for _, ing := range in.Ingresses {
		verdicts, extractErr := annotations.OpenedxCheckAnnotations(r, alt, ing.Annotations)
		ingresses = append(ingresses, ingressVerdict{Name: ing.Name, Annotations: verdicts, ExtractError: extractErr})
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(map[string]interface{}{"configmap": checkConfigMap(in.ConfigMap), "ingresses": ingresses}); err != nil {
		fmt.Fprintf(os.Stderr, "openedx-check: %v\n", err)
		os.Exit(1)
	}
}
