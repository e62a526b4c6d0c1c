"""The Job class and its concerns."""

from jobframe.job.base import Job
from jobframe.job.configured import ConfiguredJob
from jobframe.job.enqueuing import aperform_all_later, perform_all_later

__all__ = ["ConfiguredJob", "Job", "aperform_all_later", "perform_all_later"]
