"""The LMS routes the stand-in serves: one row per (method, path), with the file at ``release/verawood`` each comes from.

Paths are templates with ``<name>`` placeholders; a request no row matches answers 404 (Django's resolver), a path
that matches with another method 405. docs/loadtest.md's "LMS stand-in routes" table is this table
(tests/unit/sandbox/test_lms_routes.py keeps the two equal).

Source abbreviations: P = openedx/openedx-platform@release/verawood, DRF-X = openedx/edx-drf-extensions (the
release's pinned version), TUTOR-MFE = overhangio/tutor-mfe (Tutor 22).
"""

import re
from dataclasses import dataclass

P = "openedx-platform"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: str  # Lms method name
    answers: str  # what it answers, for the docs table
    source: str

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


# What each placeholder matches (settings.COURSE_ID_PATTERN, USAGE_KEY_PATTERN, USERNAME_PATTERN in P
# openedx/envs/common.py, restricted to the opaque-keys forms the stand-in's courses use).
PLACEHOLDERS = {
    "course_id": r"(?P<course_id>course-v1:[^/+]+\+[^/+]+\+[^/]+)",
    "usage_id": r"(?P<usage_id>block-v1:[^/]+)",
    "username": r"(?P<username>[\w.@+-]+)",
    "program_uuid": r"(?P<program_uuid>[0-9a-f-]+)",
    "file": r"(?P<file>.+)",
}

ROUTES: tuple[Route, ...] = (
    # -- frontend-platform's calls on every MFE page
    Route(
        "GET",
        "/api/mfe_config/v1",
        "mfe_config",
        (
            "MFE_CONFIG (+ MFE_CONFIG_OVERRIDES[?mfe=]) merged with the legacy keys; Cache-Control max-age=1 (Tutor sets "
            "MFE_CONFIG_API_CACHE_TIMEOUT = 1); anonymous"
        ),
        (f"{P} lms/urls.py (api/mfe_config/v1), lms/djangoapps/mfe_config_api/views.py MFEConfigView; TUTOR-MFE patches/openedx-lms-common-settings"),
    ),
    Route(
        "GET",
        "/csrf/api/v1/token",
        "csrf_token",
        "{csrfToken}; sets the csrftoken cookie (get_token); AllowAny",
        f"{P} lms/urls.py (include csrf.urls); DRF-X csrf/api/v1/views.py CsrfTokenView",
    ),
    Route(
        "POST",
        "/login_refresh",
        "login_refresh",
        (
            "new JWT cookies + {success, user_id, response_epoch_seconds, response_http_date, expires, "
            'expires_epoch_seconds}; 401 "Unauthorized" without a session; CSRF-exempt'
        ),
        (f"{P} openedx/core/djangoapps/user_authn/urls_common.py, views/login.py login_refresh, cookies.py get_response_with_refreshed_jwt_cookies"),
    ),
    Route(
        "POST",
        "/event",
        "event",
        'tracking log (event_type, event, page); 200 "success"; CSRF checked by the middleware; anonymous allowed',
        f"{P} common/djangoapps/track/urls.py, track/views/__init__.py user_track",
    ),
    # -- authn MFE
    Route(
        "GET",
        "/api/mfe_context",
        "mfe_context",
        ("{contextData, registrationFields, optionalFields}; AnonRateThrottle LOGISTRATION_API_RATELIMIT (20/m per IP) -> 429"),
        f"{P} openedx/core/djangoapps/user_authn/api/urls.py, api/views.py MFEContextView",
    ),
    Route(
        "GET",
        "/api/user/v2/account/login_session/",
        "login_form",
        "login form description; ensure_csrf_cookie",
        f"{P} openedx/core/djangoapps/user_authn/urls_common.py, views/login.py LoginSessionView.get",
    ),
    Route(
        "POST",
        "/api/user/v2/account/login_session/",
        "login",
        (
            "csrf_protect; email_or_username + password (form); 200 {success, redirect_url} + session, rotated csrftoken, "
            "edxloggedin, edx-user-info, JWT cookies; 400 {success: false, value, error_code, email}; rate limits per IP "
            "(LOGISTRATION_RATELIMIT_RATE) and per email (LOGISTRATION_PER_EMAIL_RATELIMIT_RATE)"
        ),
        (f"{P} user_authn/views/login.py LoginSessionView.post, login_user; user_authn/cookies.py set_logged_in_cookies; openedx/envs/common.py"),
    ),
    Route(
        "GET",
        "/api/user/v1/account/login_session/",
        "login_form",
        "as v2, field `email`",
        f"{P} openedx/core/djangoapps/user_authn/urls_common.py (api_version v1|v2)",
    ),
    Route(
        "POST",
        "/api/user/v1/account/login_session/",
        "login",
        "as v2, field `email`",
        f"{P} openedx/core/djangoapps/user_authn/urls_common.py (api_version v1|v2)",
    ),
    Route(
        "GET",
        "/login",
        "login_page",
        "302 to the authn MFE's /login (ENABLE_AUTHN_MICROFRONTEND, set by Tutor); ensure_csrf_cookie",
        f"{P} openedx/core/djangoapps/user_authn/urls.py, views/login_form.py login_and_registration_form",
    ),
    # -- legacy pages that send the browser to an MFE
    Route(
        "GET",
        "/dashboard",
        "dashboard",
        "login_required; 302 to LEARNER_HOME_MICROFRONTEND_URL (Tutor: <mfe>/learner-dashboard/) as learner_home_mfe_enabled()",
        (
            f"{P} lms/urls.py ^dashboard/?$, common/djangoapps/student/views/dashboard.py student_dashboard; "
            "TUTOR-MFE LMS settings: LEARNER_HOME_MFE_REDIRECT_PERCENTAGE = 100"
        ),
    ),
    Route(
        "GET",
        "/dashboard/",
        "dashboard",
        "as /dashboard",
        f"{P} lms/urls.py ^dashboard/?$",
    ),
    Route(
        "GET",
        "/account/settings",
        "account_settings",
        "302 to ACCOUNT_MICROFRONTEND_URL (RedirectView, no login needed)",
        f"{P} openedx/core/djangoapps/user_api/legacy_urls.py ^account(?:/settings)?/?$",
    ),
    Route(
        "GET",
        "/courses",
        "courses_page",
        "301 to CATALOG_MICROFRONTEND_URL/ when the catalog MFE is on (use_catalog_mfe), else the local catalog",
        f"{P} lms/urls.py ^courses/?$, lms/djangoapps/branding/views.py courses",
    ),
    Route(
        "GET",
        "/courses/<course_id>/about",
        "about_page",
        "course about page (HTML)",
        f"{P} lms/urls.py about_course, courseware/views/views.py course_about",
    ),
    Route(
        "GET",
        "/courses/<course_id>/courseware",
        "courseware_page",
        "login_required; 302 to the learning MFE's course home",
        f"{P} lms/urls.py courseware, courseware/views/index.py CoursewareIndex",
    ),
    # -- learner-dashboard MFE
    Route(
        "GET",
        "/api/learner_home/init",
        "learner_home",
        "{emailConfirmation, enterpriseDashboard, platformSettings, courses, socialShareSettings, suggestedCourses}",
        f"{P} lms/djangoapps/learner_home/urls.py, views.py InitializeView, serializers.py LearnerDashboardSerializer",
    ),
    # -- profile and account MFEs
    Route(
        "GET",
        "/api/user/v1/accounts/<username>",
        "account",
        "own account (all fields) or another learner's limited profile; 404 unknown",
        f"{P} openedx/core/djangoapps/user_api/urls.py accounts_api, accounts/views.py AccountViewSet.retrieve",
    ),
    Route(
        "GET",
        "/api/user/v1/preferences/<username>",
        "preferences",
        "own preferences object; 403 for another user",
        f"{P} openedx/core/djangoapps/user_api/urls.py preferences_api, preferences/views.py PreferencesView",
    ),
    Route(
        "PATCH",
        "/api/user/v1/preferences/<username>",
        "preferences_patch",
        "application/merge-patch+json -> 204; other content types 415",
        f"{P} openedx/core/djangoapps/user_api/preferences/views.py PreferencesView.patch",
    ),
    Route(
        "GET",
        "/api/certificates/v0/certificates/<username>/",
        "certificates",
        "list of the learner's certificates ([] here)",
        f"{P} lms/urls.py api/certificates/, lms/djangoapps/certificates/apis/v0/urls.py, views.py CertificatesListView",
    ),
    Route(
        "GET",
        "/user_api/v1/account/registration/",
        "registration_form",
        "registration form description {method, submit_url, fields} (country options)",
        (f"{P} openedx/core/djangoapps/user_authn/urls_common.py user_api_registration_legacy, views/register.py RegistrationView.get"),
    ),
    Route(
        "GET",
        "/user_api/v1/preferences/time_zones/",
        "time_zones",
        "[{time_zone, description}] (?country_code= filters)",
        f"{P} openedx/core/djangoapps/user_api/legacy_urls.py, views.py CountryTimeZoneListView",
    ),
    Route(
        "GET",
        "/api/notifications/v3/configurations/",
        "notification_configurations",
        "the learner's notification preferences",
        f"{P} lms/urls.py api/notifications/, openedx/core/djangoapps/notifications/urls.py",
    ),
    Route(
        "GET",
        "/api/third_party_auth/v0/providers/user_status",
        "third_party_auth_status",
        "[] (no providers configured)",
        f"{P} lms/urls.py (ENABLE_THIRD_PARTY_AUTH) api/third_party_auth/, common/djangoapps/third_party_auth/api/urls.py",
    ),
    Route(
        "GET",
        "/api/edx_name_affirmation/v1/verified_name/history",
        "verified_name_history",
        "{results: []}",
        "openedx/edx-name-affirmation edx_name_affirmation/urls.py VerifiedNameHistoryView (LMS plugin app)",
    ),
    # -- learning MFE: course home
    Route(
        "GET",
        "/api/course_home/course_metadata/<course_id>",
        "course_home_metadata",
        "course_access.has_access, is_enrolled, tabs, title, ...",
        (f"{P} lms/urls.py api/course_home/, lms/djangoapps/course_home_api/urls.py, course_metadata/views.py CourseHomeMetadataView"),
    ),
    Route(
        "GET",
        "/api/course_home/outline/<course_id>",
        "outline",
        "course_blocks (null when not enrolled and not staff), resume_course, enroll_alert, dates_widget, ...",
        f"{P} lms/djangoapps/course_home_api/outline/views.py OutlineTabView.get",
    ),
    Route(
        "GET",
        "/api/course_home/v1/outline/<course_id>",
        "outline",
        "as /api/course_home/outline",
        f"{P} lms/urls.py api/course_home/v1/ (same urls)",
    ),
    Route(
        "GET",
        "/api/course_home/v1/navigation/<course_id>",
        "navigation",
        "{blocks} course to vertical",
        f"{P} lms/djangoapps/course_home_api/outline/views.py CourseNavigationBlocksView",
    ),
    Route(
        "GET",
        "/courses/<course_id>/courseware-search/enabled/",
        "search_enabled",
        "{enabled}",
        f"{P} lms/urls.py courseware_search_enabled_view, courseware/views/views.py courseware_mfe_search_enabled",
    ),
    Route(
        "GET",
        "/api/edx_proctoring/v1/user_onboarding/status",
        "proctoring_onboarding",
        "404 {detail} when the course has no onboarding exam",
        "openedx/edx-proctoring edx_proctoring/urls.py StudentOnboardingStatusView (LMS plugin app)",
    ),
    Route(
        "GET",
        "/api/enrollment/v1/enrollment",
        "list_enrollments",
        "the learner's enrollments",
        f"{P} openedx/core/djangoapps/enrollments/urls.py, views.py EnrollmentListView.get",
    ),
    Route(
        "POST",
        "/api/enrollment/v1/enrollment",
        "enroll",
        ("JSON {course_details: {course_id}} -> enrollment {course_details, mode, is_active, user}; EnrollmentUserThrottle 40/minute per user -> 429"),
        f"{P} openedx/core/djangoapps/enrollments/views.py EnrollmentListView.post, EnrollmentUserThrottle",
    ),
    # -- learning MFE: courseware
    Route(
        "GET",
        "/api/courseware/course/<course_id>",
        "courseware_course",
        "id, name, enrollment {mode, is_active}, course_access, is_staff, ...",
        f"{P} openedx/core/djangoapps/courseware_api/urls.py, views.py CoursewareMeta",
    ),
    Route(
        "GET",
        "/api/learning_sequences/v1/course_outline/<course_id>",
        "learning_sequences",
        "{course_key, outline: {sections, sequences}, ...}",
        (f"{P} lms/urls.py api/learning_sequences/, openedx/core/djangoapps/content/learning_sequences/urls.py, views.py CourseOutlineView"),
    ),
    Route(
        "GET",
        "/courses/<course_id>/courseware-navigation-sidebar/toggles/",
        "sidebar_toggles",
        "{enable_navigation_sidebar, always_open_auxiliary_sidebar, enable_completion_tracking}",
        f"{P} lms/urls.py courseware_navigation_sidebar_toggles_view, courseware/views/views.py",
    ),
    Route(
        "GET",
        "/api/courseware/resume/<course_id>",
        "resume",
        "{block_id, section_id, unit_id} of the last completed block (null before any)",
        f"{P} openedx/core/djangoapps/courseware_api/views.py Resume",
    ),
    Route(
        "GET",
        "/api/courseware/sequence/<usage_id>",
        "sequence",
        "item_id, items[] (id, complete, ...), position, save_position, ...; 403 not enrolled",
        f"{P} openedx/core/djangoapps/courseware_api/views.py SequenceMetadata, xmodule/seq_block.py get_metadata",
    ),
    Route(
        "GET",
        "/xblock/<usage_id>",
        "render_xblock",
        ("the unit's HTML (chromeless), pulling /static/ files; ensure_csrf_cookie; view must be student_view/public_view (400)"),
        f"{P} lms/urls.py render_xblock (USAGE_KEY_PATTERN), courseware/views/views.py render_xblock",
    ),
    Route(
        "GET",
        "/static/<file>",
        "static",
        "the LMS's collected static files (Tutor: uWSGI static-map)",
        f"{P} lms/templates/courseware/courseware-chromeless.html (the files it links)",
    ),
    Route(
        "POST",
        "/courses/<course_id>/xblock/<usage_id>/handler/publish_completion",
        "xblock_handler",
        "{completion: 1.0} -> {result: ok} for a block completable by viewing (HTML), else 400; CSRF; anonymous 403; not enrolled 404",
        (
            f"{P} lms/urls.py xblock_handler, lms/djangoapps/courseware/block_render.py handle_xblock_callback; "
            "lms/djangoapps/lms_xblock/mixin.py LmsBlockMixin.publish_completion"
        ),
    ),
    Route(
        "POST",
        "/courses/<course_id>/xblock/<usage_id>/handler/get_completion",
        "xblock_handler",
        "{usage_key: <unit>} -> {complete} (all of the unit's leaves completed); CSRF",
        (
            f"{P} lms/urls.py xblock_handler, lms/djangoapps/courseware/block_render.py handle_xblock_callback; "
            "xmodule/seq_block.py SequenceBlock.get_completion"
        ),
    ),
    Route(
        "POST",
        "/courses/<course_id>/xblock/<usage_id>/handler/goto_position",
        "xblock_handler",
        "{position: n} -> {success}; CSRF",
        (f"{P} lms/urls.py xblock_handler, lms/djangoapps/courseware/block_render.py handle_xblock_callback; xmodule/seq_block.py SequenceBlock.goto_position"),
    ),
    # -- programs (need ProgramsApiConfig on and programs cached from course discovery)
    Route(
        "GET",
        "/dashboard/programs/",
        "programs_page",
        ("login_required; HTML of the engaged programs with their /dashboard/programs/<uuid>/ links; 404 when programs are not configured"),
        (f"{P} lms/djangoapps/learner_dashboard/urls.py program_listing_view, program_views.py program_listing, programs.py ProgramsFragmentView"),
    ),
    Route(
        "GET",
        "/dashboard/programs/<program_uuid>/",
        "program_details_page",
        "login_required; program details HTML; 404 when not configured or the program is not cached",
        f"{P} lms/djangoapps/learner_dashboard/urls.py program_details_view, programs.py ProgramDetailsFragmentView",
    ),
    Route(
        "GET",
        "/api/dashboard/v0/programs/<program_uuid>/progress_details/",
        "program_progress",
        "{urls, program_data, course_data, certificate_data, industry_pathways, credit_pathways}",
        f"{P} lms/urls.py api/dashboard/, openedx/core/djangoapps/programs/rest_api/",
    ),
    # -- operations
    Route(
        "GET",
        "/heartbeat",
        "heartbeat",
        "200 when the LMS is up",
        f"{P} lms/urls.py heartbeat, openedx/core/djangoapps/heartbeat/",
    ),
)


def compile_template(path: str) -> re.Pattern:
    out, pos = [], 0
    for m in re.finditer(r"<(\w+)>", path):
        out.append(re.escape(path[pos : m.start()]))
        out.append(PLACEHOLDERS[m.group(1)])
        pos = m.end()
    out.append(re.escape(path[pos:]))
    return re.compile("^" + "".join(out) + "$")


COMPILED: tuple[tuple[re.Pattern, Route], ...] = tuple((compile_template(r.path), r) for r in ROUTES)
# Every template starts with a literal segment: look only at the routes sharing the request's first segment.
BY_SEGMENT: dict[str, tuple[tuple[re.Pattern, Route], ...]] = {}
for _pattern, _route in COMPILED:
    _first = _route.path.split("/")[1]
    BY_SEGMENT[_first] = (*BY_SEGMENT.get(_first, ()), (_pattern, _route))


def resolve(method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
    """(route, path params, path_known): route None with path_known True means 405."""
    known = False
    for pattern, route in BY_SEGMENT.get(path.split("/", 2)[1] if path.startswith("/") else "", ()):
        m = pattern.match(path)
        if m:
            if route.method == method or (method == "HEAD" and route.method == "GET"):
                return route, m.groupdict(), True
            known = True
    return None, {}, known


def markdown_table() -> str:
    """docs/loadtest.md's "LMS stand-in routes" table: `python -m tests.sandbox.lms.routes` prints it."""
    lines = ["| Method | Path | What it answers | Source (release/verawood) |", "|---|---|---|---|"]
    for r in ROUTES:
        answers, source = (text.replace("|", "\\|") for text in (r.answers, r.source))
        lines.append(f"| {r.method} | `{r.path}` | {answers} | {source} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
