"""The Jobs page: queue lengths, live workers, failed background jobs with retry and delete."""

from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user

from kernel import audit, jobs
from kernel.admin.base import ProtectedBaseView


class JobsView(ProtectedBaseView):
    permission = "admin.jobs"

    def __init__(self):
        super().__init__(name="Jobs", endpoint="jobs", url="/admin/jobs", category="System")

    def _page(self, status: int = 200):
        context = {
            "redis_url": bool(current_app.config.get("REDIS_URL")),
            "error": None,
            "summary": None,
            "failed": [],
        }
        if context["redis_url"]:
            try:
                context["summary"] = jobs.summary()
                context["failed"] = jobs.failed_jobs()
            except Exception as exc:  # noqa: BLE001 - Redis away: say so on the page
                context["error"] = f"Redis is not reachable ({type(exc).__name__}: {exc})"
                status = 503 if status == 200 else status
        return self.render("admin/pteroca/jobs.html", **context), status

    @expose("/")
    def index(self):
        return self._page()

    def _act(self, action, verb: str):
        job_id = request.form.get("job_id", "").strip()
        if not current_app.config.get("REDIS_URL"):
            flash(
                "Jobs run inline (PTEROCA_REDIS_URL is not set): there are no failed jobs to "
                f"{verb}.",
                "error",
            )
            return self._page(400)
        try:
            function = action(job_id)
        except jobs.JobError as exc:
            flash(str(exc), "error")
            return self._page(400)
        except Exception as exc:  # noqa: BLE001 - Redis away
            flash(f"could not {verb} the job: {type(exc).__name__}: {exc}", "error")
            return self._page(503)
        audit.record(f"job.{verb}", job_id, {"function": function}, actor=current_user.email)
        flash(
            f"{function} ({job_id}): {'queued again' if verb == 'retry' else 'deleted'}", "success"
        )
        return redirect(url_for(".index"), 303)

    @expose("/retry", methods=("POST",))
    def retry(self):
        return self._act(jobs.retry_failed, "retry")

    @expose("/delete", methods=("POST",))
    def delete(self):
        return self._act(jobs.delete_failed, "delete")
