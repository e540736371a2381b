"""What the case study's edge looks like in ingress-nginx's words, expected by the sizing and the edge tests."""

CASE_STUDY_ANNOTATIONS = {
    # The case study's set, in the forms ingress-nginx's annotation parsers accept: proxy-*-timeout pass
    # parser.ValidateInt (bare seconds); keep-alive-requests and timeout-socket are ConfigMap-only.
    "nginx.ingress.kubernetes.io/limit-connections": "5000",
    "nginx.ingress.kubernetes.io/proxy-body-size": "500M",
    "nginx.ingress.kubernetes.io/proxy-connect-timeout": "3600",
    "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
    "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
    "nginx.ingress.kubernetes.io/service-upstream": "true",
    "nginx.ingress.kubernetes.io/ssl-redirect": "true",
}
# Annotations ingress-nginx ignores: keep-alive-requests and timeout-socket have no annotation parser.
NO_OP_ANNOTATIONS = ("nginx.ingress.kubernetes.io/keep-alive-requests", "nginx.ingress.kubernetes.io/timeout-socket")
# What the translation renders for them: nginx caps proxy_connect_timeout at about 75 s, so the case study's 3600 s
# connect timeout means 75 s (plugins/filter/edge.py CONNECT_TIMEOUT_MAX_SECONDS).
TRANSLATED_ANNOTATIONS = {**CASE_STUDY_ANNOTATIONS, "nginx.ingress.kubernetes.io/proxy-connect-timeout": "75"}
