"""All models, importable from one place: `from pledge_registry.models import Merchant`."""

from .accounts import Role, User
from ..database import Base, utcnow
from .pledges import (
    MIN_RETURN_DAYS, PENDING_STATUSES, REFUND_METHODS, STANDING_STATUSES,
    Pledge, PledgeEvent, PledgeKind, PledgeStatus, PledgeTemplate,
)
from .complaints import (
    OPEN_STATUSES, PROBLEM_TYPES, PROPOSAL_KINDS, REJECT_REASONS, REQUEST_TYPES, SURVEY_ANSWERS, WANTS,
    Complaint, ComplaintEvent, ComplaintPhoto, ComplaintStatus, Holiday, OutboxMessage, Outcome,
    PhoneReveal, Setting, SupervisionStation, SurveyResponse, new_tracking_code,
)
from .ratings import (
    GRADES, AppealStatus, Inspection, Nomination, NominationEvent, NominationLevel, NominationStatus, Penalty,
    Rating, RatingAppeal, RatingReply, SuspensionProposal,
)
from .registry import (
    CATEGORIES, LIVE_MERCHANT_STATUSES, CommercialArea, Merchant, MerchantEvent,
    MerchantStatus, Town, address_key, new_badge_code,
)

__all__ = [
    "GRADES", "AppealStatus", "Inspection", "Nomination", "NominationEvent", "NominationLevel",
    "NominationStatus", "Penalty", "Rating", "RatingAppeal", "RatingReply", "SuspensionProposal",
    "OPEN_STATUSES", "PROBLEM_TYPES", "PROPOSAL_KINDS", "REJECT_REASONS", "REQUEST_TYPES", "SURVEY_ANSWERS",
    "WANTS", "Complaint", "ComplaintEvent", "ComplaintPhoto", "ComplaintStatus", "Holiday", "OutboxMessage",
    "Outcome", "PhoneReveal", "Setting", "SupervisionStation", "SurveyResponse", "new_tracking_code",
    "Base", "utcnow", "Role", "User",
    "MIN_RETURN_DAYS", "PENDING_STATUSES", "REFUND_METHODS", "STANDING_STATUSES",
    "Pledge", "PledgeEvent", "PledgeKind", "PledgeStatus", "PledgeTemplate",
    "CATEGORIES", "LIVE_MERCHANT_STATUSES", "CommercialArea", "Merchant", "MerchantEvent",
    "MerchantStatus", "Town", "address_key", "new_badge_code",
]
