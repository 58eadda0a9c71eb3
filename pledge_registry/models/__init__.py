"""All models, importable from one place: `from pledge_registry.models import Merchant`."""

from ..database import Base, utcnow
from .accounts import Role, User
from .complaints import (
    OPEN_STATUSES, PROBLEM_TYPES, PROPOSAL_KINDS, REJECT_REASONS, REQUEST_TYPES, SURVEY_ANSWERS, WANTS,
    Complaint, ComplaintEvent, ComplaintPhoto, ComplaintStatus, Outcome, PhoneReveal, SupervisionStation,
    SurveyResponse, new_tracking_code,
)
from .compliance import (
    AppealStatus, Inspection, InspectionResult, Penalty, ProposalStatus, RatingAppeal, RatingReply,
    SuspensionProposal,
)
from .nominations import (
    LIVE_NOMINATION_STATUSES, Nomination, NominationEvent, NominationLevel, NominationStatus,
)
from .outbox import OutboxChannel, OutboxMessage, OutboxStatus
from .pledges import (
    MIN_RETURN_DAYS, PENDING_STATUSES, REFUND_METHODS, STANDING_STATUSES,
    Pledge, PledgeEvent, PledgeKind, PledgeStatus, PledgeTemplate,
)
from .ratings import GRADES, Rating
from .registry import (
    CATEGORIES, LIVE_MERCHANT_STATUSES, CommercialArea, Merchant, MerchantEvent,
    MerchantStatus, Town, address_key, new_badge_code,
)
from .settings import Holiday, Setting

__all__ = [
    "Base", "utcnow", "Role", "User",
    "OPEN_STATUSES", "PROBLEM_TYPES", "PROPOSAL_KINDS", "REJECT_REASONS", "REQUEST_TYPES", "SURVEY_ANSWERS",
    "WANTS", "Complaint", "ComplaintEvent", "ComplaintPhoto", "ComplaintStatus", "Outcome", "PhoneReveal",
    "SupervisionStation", "SurveyResponse", "new_tracking_code",
    "AppealStatus", "Inspection", "InspectionResult", "Penalty", "ProposalStatus", "RatingAppeal",
    "RatingReply", "SuspensionProposal",
    "LIVE_NOMINATION_STATUSES", "Nomination", "NominationEvent", "NominationLevel", "NominationStatus",
    "OutboxChannel", "OutboxMessage", "OutboxStatus",
    "MIN_RETURN_DAYS", "PENDING_STATUSES", "REFUND_METHODS", "STANDING_STATUSES",
    "Pledge", "PledgeEvent", "PledgeKind", "PledgeStatus", "PledgeTemplate",
    "GRADES", "Rating",
    "CATEGORIES", "LIVE_MERCHANT_STATUSES", "CommercialArea", "Merchant", "MerchantEvent",
    "MerchantStatus", "Town", "address_key", "new_badge_code",
    "Holiday", "Setting",
]
