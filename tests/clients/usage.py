"""TypeScript that uses a rendered project's generated types as its README shows the API.

Each part holds for the rows that have the routes it uses. `tsc --strict` compiles the parts a
row has; the `@ts-expect-error` lines are mistakes the types must catch (tsc fails if one of
them compiles cleanly), so loose types cannot pass.
"""

CORE = """
import type { components, operations } from "./api";

type Schemas = components["schemas"];

// README, "Authentication": sign up, check a password, log in, change the display name.
export const signup: Schemas["SignupIn"] = {
  email: "ada@example.com",
  password: "analytical engine 1843",
  displayName: "Ada",
};
export const strength: Schemas["PasswordStrengthIn"] = { password: "analytical engine 1843" };
export const rename: Schemas["UserUpdate"] = { displayName: "Ada Lovelace" };
export const change: Schemas["PasswordChange"] = {
  currentPassword: "analytical engine 1843",
  newPassword: "difference engine 1822",
};

// @ts-expect-error a sign-up needs its display name
export const incomplete: Schemas["SignupIn"] = { email: "ada@example.com", password: "x" };

type Me = operations["read_me"]["responses"][200]["content"]["application/json"];
export function greeting(me: Me): string {
  // Response fields are required: no undefined to handle.
  return `${me.displayName} <${me.email}> since ${me.createdAt.slice(0, 10)}`;
}

type ErrorCode = Schemas["ErrorBody"]["code"];
export function isRetryable(code: ErrorCode): boolean {
  return code === "service_unavailable" || code === "too_many_requests";
}
// @ts-expect-error a code the service never answers with
export const unknown: ErrorCode = "no_such_code";
"""

POSTS = """
import type { components as PostComponents } from "./api";

export const post: PostComponents["schemas"]["PostIn"] = { title: "Hello", body: "First post" };
export const edit: PostComponents["schemas"]["PostUpdate"] = { title: "Hello again" };
export function titles(page: PostComponents["schemas"]["Page_PostOut_"]): string[] {
  return page.items.map((item) => `${item.title} (${page.total})`);
}
"""

JOBS = """
import type { components as JobComponents } from "./api";

// README, "Background jobs": the defaulted parameters may be left out.
export const exportAll: JobComponents["schemas"]["AccountExportParams"] = {};
export const exportSome: JobComponents["schemas"]["AccountExportParams"] = { maxAuditEvents: 100 };
export function finished(job: JobComponents["schemas"]["JobOut"]): boolean {
  return job.status === "succeeded" || job.status === "failed";
}
"""

REPORT = """
import type { components as ReportComponents } from "./api";

// README, "Background jobs": the report with one parameter given.
export const report: ReportComponents["schemas"]["ReportParams"] = { similarityThreshold: 0.8 };
"""


def usage_for(include_examples: bool, include_celery: bool) -> str:
    parts = [CORE]
    if include_examples:
        parts.append(POSTS)
    if include_celery:
        parts.append(JOBS)
    if include_examples and include_celery:
        parts.append(REPORT)
    return "\n".join(parts)
