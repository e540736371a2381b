"""Every request the locustfile issues: the route, the stats name it is reported under, and the file at
``release/verawood`` that makes a real browser issue it (frontend-platform at v8.7.1, the version the MFEs pin).

One table, so that a route the release does not have cannot slip into a flow: the flows build every request
from here, and the tests compare this table with the LMS route table in docs/loadtest.md.
Path templates use ``<name>`` placeholders; ``name`` is what Locust shows (the template, placeholders in brackets).
"""

from dataclasses import dataclass

FP = "openedx/frontend-platform@v8.7.1"
LEARNING = "openedx/frontend-app-learning@release/verawood"
DASHBOARD = "openedx/frontend-app-learner-dashboard@release/verawood"
PROFILE = "openedx/frontend-app-profile@release/verawood"
ACCOUNT = "openedx/frontend-app-account@release/verawood"
AUTHN = "openedx/frontend-app-authn@release/verawood"
PLATFORM = "openedx/openedx-platform@release/verawood"


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # template: <course_id>, <username>, <usage_id>, <program_uuid>, <app>, <file>
    source: str

    @property
    def name(self) -> str:
        return self.path.replace("<", "[").replace(">", "]")

    def url(self, **params: str) -> str:
        path = self.path
        for key, value in params.items():
            path = path.replace(f"<{key}>", value)
        if "<" in path:
            raise KeyError(f"{self.path}: missing parameter in {params}")
        return path


ROUTES: dict[str, Route] = {
    # frontend-platform, on every MFE page
    "mfe_config": Route("GET", "/api/mfe_config/v1", f"{FP} src/initialize.js runtimeConfig (?mfe=<APP_ID>)"),
    "csrf_token": Route("GET", "/csrf/api/v1/token", f"{FP} src/auth/AxiosCsrfTokenService.js getCsrfToken"),
    "login_refresh": Route("POST", "/login_refresh", f"{FP} src/auth/AxiosJwtTokenService.js refresh"),
    "event": Route("POST", "/event", f"{FP} src/analytics/SegmentAnalyticsService.js sendTrackingLogEvent"),
    # authn MFE: the login page, then the LMS redirect to the learner dashboard
    "mfe_context": Route("GET", "/api/mfe_context", f"{AUTHN} src/common-components/data/api.ts getThirdPartyAuthContext"),
    "login": Route("POST", "/api/user/v2/account/login_session/", f"{AUTHN} src/login/data/api.ts login"),
    "dashboard_redirect": Route("GET", "/dashboard", f"{AUTHN} src/login/data/api.ts login (redirect_url default)"),
    # learner-dashboard MFE
    "learner_home_init": Route("GET", "/api/learner_home/init", f"{DASHBOARD} src/data/services/lms/api.ts initializeList"),
    # profile MFE (and frontend-platform's hydrateAuthenticatedUser in profile and account)
    "account": Route("GET", "/api/user/v1/accounts/<username>", f"{PROFILE} src/profile/data/services.js getAccount"),
    "certificates": Route("GET", "/api/certificates/v0/certificates/<username>/", f"{PROFILE} src/profile/data/services.js getCourseCertificates"),
    "registration_form": Route("GET", "/user_api/v1/account/registration/", f"{PROFILE} src/profile/data/services.js getCountryList"),
    "preferences": Route("GET", "/api/user/v1/preferences/<username>", f"{PROFILE} src/profile/data/services.js getPreferences"),
    "preferences_patch": Route("PATCH", "/api/user/v1/preferences/<username>", f"{PROFILE} src/profile/data/sagas.js handleFetchProfile"),
    # account MFE
    "notification_preferences": Route("GET", "/api/notifications/v3/configurations/", f"{ACCOUNT} src/notification-preferences/data/service.js"),
    "third_party_auth": Route("GET", "/api/third_party_auth/v0/providers/user_status", f"{ACCOUNT} src/account-settings/third-party-auth/data/service.js"),
    "time_zones": Route("GET", "/user_api/v1/preferences/time_zones/", f"{ACCOUNT} src/account-settings/data/service.js getTimeZones"),
    "verified_name_history": Route(
        "GET", "/api/edx_name_affirmation/v1/verified_name/history", f"{ACCOUNT} src/account-settings/data/service.js getVerifiedNameHistory"
    ),
    # learning MFE: course home
    "course_home_metadata": Route("GET", "/api/course_home/course_metadata/<course_id>", f"{LEARNING} src/course-home/data/api.js getCourseHomeCourseMetadata"),
    "outline": Route("GET", "/api/course_home/outline/<course_id>", f"{LEARNING} src/course-home/data/api.js getOutlineTabData"),
    "search_enabled": Route("GET", "/courses/<course_id>/courseware-search/enabled/", f"{LEARNING} src/course-home/data/api.js getCoursewareSearchEnabled"),
    "proctoring_onboarding": Route("GET", "/api/edx_proctoring/v1/user_onboarding/status", f"{LEARNING} src/course-home/data/api.js getProctoringInfoData"),
    "enroll": Route("POST", "/api/enrollment/v1/enrollment", f"{LEARNING} src/alerts/enrollment-alert/data/api.js postCourseEnrollment"),
    # learning MFE: courseware
    "courseware_course": Route("GET", "/api/courseware/course/<course_id>", f"{LEARNING} src/courseware/data/api.js getCourseMetadata"),
    "learning_sequences": Route(
        "GET", "/api/learning_sequences/v1/course_outline/<course_id>", f"{LEARNING} src/courseware/data/api.js getLearningSequencesOutline"
    ),
    "sidebar_toggles": Route(
        "GET",
        "/courses/<course_id>/courseware-navigation-sidebar/toggles/",
        f"{LEARNING} src/courseware/data/api.js getCoursewareOutlineSidebarToggles",
    ),
    "resume": Route("GET", "/api/courseware/resume/<course_id>", f"{LEARNING} src/courseware/data/api.js getResumeBlock"),
    "sequence": Route("GET", "/api/courseware/sequence/<usage_id>", f"{LEARNING} src/courseware/data/api.js getSequenceMetadata"),
    "navigation": Route("GET", "/api/course_home/v1/navigation/<course_id>", f"{LEARNING} src/courseware/data/api.js getCourseOutline"),
    "xblock": Route("GET", "/xblock/<usage_id>", f"{LEARNING} src/courseware/course/sequence/Unit/urls.ts getIFrameUrl"),
    "static": Route("GET", "/static/<file>", f"{PLATFORM} the unit page's <link>/<script> (Tutor serves /static/ from the LMS)"),
    "publish_completion": Route(
        "POST",
        "/courses/<course_id>/xblock/<usage_id>/handler/publish_completion",
        f"{PLATFORM} lms/static/completion/js/CompletionOnViewService.js",
    ),
    "goto_position": Route(
        "POST", "/courses/<course_id>/xblock/<usage_id>/handler/goto_position", f"{LEARNING} src/courseware/data/api.js postSequencePosition"
    ),
    "get_completion": Route(
        "POST", "/courses/<course_id>/xblock/<usage_id>/handler/get_completion", f"{LEARNING} src/courseware/data/api.js getBlockCompletion"
    ),
    # programs: LMS pages (the learner dashboard links them, urls.js programsUrl)
    "programs": Route("GET", "/dashboard/programs/", f"{PLATFORM} lms/djangoapps/learner_dashboard/urls.py program_listing"),
    "program_details": Route("GET", "/dashboard/programs/<program_uuid>/", f"{PLATFORM} lms/djangoapps/learner_dashboard/urls.py program_details"),
}

# APP_ID of each micro-frontend, as Tutor builds them (tutor-mfe: one app per name; the MFEs' .env APP_ID).
APPS = ("authn", "learner-dashboard", "profile", "account", "learning")

# Page-weight requests: the ones a Django view answers by reading the course structure, the learner's enrollments or
# programs, rendering a template or an XBlock, hashing a password or writing an enrollment, each costing about what a
# courseware page does. The LMS sizing model (tutor_sizing_requests_per_step) counts these per learner step; the
# rest are answered from a cache, a cookie or a single row (configuration, CSRF and JWT tokens, preferences, tracking
# events), or by uWSGI's static map without Django (/static/).
PAGE_WEIGHT = frozenset(
    (
        "login",  # PBKDF2 password check
        "learner_home_init",  # every enrollment with its course overview
        "course_home_metadata",
        "outline",
        "courseware_course",
        "learning_sequences",
        "sequence",
        "navigation",
        "resume",
        "xblock",  # the unit rendered server-side
        "publish_completion",  # XBlock handlers load the block through the runtime
        "goto_position",
        "get_completion",
        "enroll",
        "programs",
        "program_details",
    )
)
