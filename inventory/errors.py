from core.errors import Conflict, InvalidInput, NotFound


class InsufficientStock(Conflict):
    code = "insufficient_stock"


class InvalidStockChange(InvalidInput):
    code = "invalid_stock_change"


class UnknownSku(NotFound):
    code = "unknown_sku"
    status = 400


class UnknownLocation(NotFound):
    code = "unknown_location"
    status = 400
