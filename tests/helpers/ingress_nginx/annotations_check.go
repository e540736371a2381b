// Copied by tests/helpers/ingress_nginx into ingress-nginx's internal/ingress/annotations package (as
// zz_openedx_check.go) so it can reach the controller's own parser table; test harness, not product.

package annotations

import (
	"encoding/json"
	"fmt"
	"strings"

	networking "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s.io/ingress-nginx/internal/ingress/annotations/parser"
	"k8s.io/ingress-nginx/internal/ingress/resolver"
)

// OpenedxVerdict is what the controller's parsers make of one annotation.
type OpenedxVerdict struct {
	Verdict string   `json:"verdict"` // ok | unknown | rejected | no-effect | other-prefix
	Parsers []string `json:"parsers,omitempty"`
	Detail  string   `json:"detail,omitempty"`
}

func openedxIngress(anns map[string]string) *networking.Ingress {
	return &networking.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "check", Namespace: "openedx", Annotations: anns},
		Spec: networking.IngressSpec{
			DefaultBackend: &networking.IngressBackend{
				Service: &networking.IngressServiceBackend{Name: "lms", Port: networking.ServiceBackendPort{Number: 8000}},
			},
		},
	}
}

func openedxJSON(v interface{}) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

// OpenedxCheckAnnotations judges each annotation with the controller's parser table (NewAnnotationExtractor).
// r carries the controller's defaults (from the ConfigMap) and risk level; alt differs from r in every
// default value, so an annotation whose parsed result still follows the defaults did not take effect.
func OpenedxCheckAnnotations(r, alt resolver.Resolver, anns map[string]string) (map[string]OpenedxVerdict, string) {
	ext, altExt := NewAnnotationExtractor(r), NewAnnotationExtractor(alt)
	maxrisk := parser.StringRiskToRisk(r.GetSecurityConfiguration().AnnotationsRiskLevel)
	prefix := parser.AnnotationsPrefix + "/"
	out := map[string]OpenedxVerdict{}
	for key, value := range anns {
		v := OpenedxVerdict{Verdict: "ok"}
		if !strings.HasPrefix(key, prefix) {
			out[key] = OpenedxVerdict{Verdict: "other-prefix", Detail: "not read by ingress-nginx (its prefix is " + prefix + ")"}
			continue
		}
		name := strings.TrimPrefix(key, prefix)
		single := map[string]string{key: value}
		var problems, effects []string
		for pname, p := range ext.annotations {
			var cfg *parser.AnnotationConfig
			for field, c := range p.GetDocumentation() {
				c := c
				if field == name || contains(c.AnnotationAliases, name) {
					cfg = &c
				}
			}
			if cfg == nil {
				continue
			}
			v.Parsers = append(v.Parsers, pname)
			if cfg.Risk > maxrisk {
				problems = append(problems, fmt.Sprintf("%s: risk above the controller's annotations-risk-level %q", pname, r.GetSecurityConfiguration().AnnotationsRiskLevel))
			}
			if err := p.Validate(single); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", pname, err))
			}
			if parser.EnableAnnotationValidation && cfg.Validator != nil {
				if err := cfg.Validator(value); err != nil {
					problems = append(problems, fmt.Sprintf("%s: validation: %v", pname, err))
				}
			}
			with, err := p.Parse(openedxIngress(single))
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: parse: %v", pname, err))
				continue
			}
			altWith, altErr := altExt.annotations[pname].Parse(openedxIngress(single))
			without, _ := p.Parse(openedxIngress(map[string]string{}))
			altWithout, _ := altExt.annotations[pname].Parse(openedxIngress(map[string]string{}))
			if altErr == nil && openedxTakesEffect(with, altWith, without, altWithout) {
				effects = append(effects, pname)
			}
		}
		switch {
		case len(v.Parsers) == 0:
			v.Verdict, v.Detail = "unknown", "no parser of this controller reads "+name
		case len(problems) > 0:
			v.Verdict, v.Detail = "rejected", strings.Join(problems, "; ")
		case len(effects) == 0:
			v.Verdict, v.Detail = "no-effect", "the parsed result equals the controller's defaults: the value was not taken"
		}
		out[key] = v
	}
	extractErr := ""
	if _, err := ext.Extract(openedxIngress(anns)); err != nil {
		extractErr = err.Error()
	}
	return out, extractErr
}

// openedxTakesEffect: some field of the parsed result changes when the annotation is set, or follows the
// defaults without the annotation and stops following them with it (a value equal to the default).
func openedxTakesEffect(with, altWith, without, altWithout interface{}) bool {
	w, aw, wo, awo := openedxLeaves(with), openedxLeaves(altWith), openedxLeaves(without), openedxLeaves(altWithout)
	for field, value := range w {
		if value != wo[field] || (wo[field] != awo[field] && value == aw[field]) {
			return true
		}
	}
	return false
}

// openedxLeaves flattens a parser's result to field path -> JSON value.
func openedxLeaves(v interface{}) map[string]string {
	var tree interface{}
	if err := json.Unmarshal([]byte(openedxJSON(v)), &tree); err != nil {
		return map[string]string{"": openedxJSON(v)}
	}
	out := map[string]string{}
	var walk func(path string, node interface{})
	walk = func(path string, node interface{}) {
		if m, ok := node.(map[string]interface{}); ok {
			for k, child := range m {
				walk(path+"/"+k, child)
			}
			return
		}
		out[path] = openedxJSON(node)
	}
	walk("", tree)
	return out
}

func contains(list []string, s string) bool {
	for _, item := range list {
		if item == s {
			return true
		}
	}
	return false
}
