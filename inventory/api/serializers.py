"""API output of inventory's own reads: the network availability of SKUs
(``inventory.selectors.get_network_availability``)."""

from rest_framework import serializers


class LocationAvailabilityOutput(serializers.Serializer):
    location = serializers.CharField(source="location_code")
    name = serializers.CharField(source="location_name")
    available_to_promise = serializers.IntegerField()


class AvailabilityOutput(serializers.Serializer):
    sku = serializers.CharField()
    available_to_promise = serializers.IntegerField()
    locations = LocationAvailabilityOutput(many=True)
