from core.errors import Conflict, InvalidInput, NotAllowed


class InvalidOrder(InvalidInput):
    code = "invalid_order"
    status = 422


class UnknownShippingMethod(InvalidInput):
    code = "unknown_shipping_method"
    status = 422


class PoNumberRequired(InvalidInput):
    code = "po_number_required"
    status = 422


class OrderNotCancellable(Conflict):
    code = "order_not_cancellable"


class OrderNotEditable(Conflict):
    code = "order_not_editable"


class DuplicateOrder(Conflict):
    code = "duplicate_order"


class OrderOnHold(Conflict):
    """Work on the order (shipping, handing over, accepting) waits for its holds."""

    code = "order_on_hold"


class HoldReleaseNotAllowed(NotAllowed):
    code = "hold_release_not_allowed"


class NotAnApprover(NotAllowed):
    code = "not_an_approver"
