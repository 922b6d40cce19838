"""The validation suite on Django, with Django REST framework's serializers
(nested serializers, a ListSerializer for the items, a ListField for the
tags), used in a plain Django view. DRF's scalar fields coerce where the
contract refuses ("yes" is a BooleanField's true, 7 a CharField's "7", "2" an
IntegerField's 2), so the fields below narrow to_internal_value, DRF's
documented way to write a custom field; lengths, ranges and patterns are DRF's
own. Serializer errors name every failing field, nested and per list item.
Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE (1 MiB) when it is read."""

import json

from django.core.exceptions import RequestDataTooBig
from django.core.validators import RegexValidator
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.http import require_POST
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.settings import api_settings

from catbench_shared import validation_model as model


class NullIsAbsent:
    """A null counts as absent, as on the stacks: required fields say so,
    optional ones get their default."""

    def validate_empty_values(self, data):
        return super().validate_empty_values(empty if data is None else data)


class StrictCharField(NullIsAbsent, serializers.CharField):
    def __init__(self, **kwargs):
        # The contract trims only the name (and only space, tab, CR, LF).
        super().__init__(trim_whitespace=False, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return data


class StrictRegexField(StrictCharField):
    def __init__(self, regex, **kwargs):
        super().__init__(validators=[RegexValidator(regex)], **kwargs)


class TrimmedField(StrictCharField):
    def to_internal_value(self, data):
        return model.trim(super().to_internal_value(data))


class EmailField(StrictRegexField):
    def to_internal_value(self, data):
        return model.normalize_email(super().to_internal_value(data))


class StrictIntegerField(NullIsAbsent, serializers.IntegerField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return data


class StrictFloatField(NullIsAbsent, serializers.FloatField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        return float(data)


class StrictBooleanField(NullIsAbsent, serializers.BooleanField):
    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class ContractListField(NullIsAbsent, serializers.ListField):
    pass


class ContractSerializer(NullIsAbsent, serializers.Serializer):
    """Unknown fields are ignored (DRF's default)."""


class AddressSerializer(ContractSerializer):
    street = StrictCharField(min_length=model.STREET_LENGTH[0], max_length=model.STREET_LENGTH[1])
    city = StrictCharField(min_length=model.CITY_LENGTH[0], max_length=model.CITY_LENGTH[1])
    zip = StrictRegexField(model.ZIP_PATTERN)
    country = StrictRegexField(model.COUNTRY_PATTERN)


class ItemSerializer(ContractSerializer):
    sku = StrictRegexField(model.SKU_PATTERN)
    quantity = StrictIntegerField(min_value=model.QUANTITY_RANGE[0], max_value=model.QUANTITY_RANGE[1])
    price = StrictFloatField(min_value=model.PRICE_RANGE[0], max_value=model.PRICE_RANGE[1])
    tags = ContractListField(child=StrictCharField(min_length=model.TAG_LENGTH[0], max_length=model.TAG_LENGTH[1]),
                             max_length=model.TAGS_MAX, required=False, default=list)


class UserSerializer(ContractSerializer):
    name = TrimmedField(min_length=model.NAME_LENGTH[0], max_length=model.NAME_LENGTH[1])
    email = EmailField(model.EMAIL_PATTERN)
    age = StrictIntegerField(min_value=model.AGE_RANGE[0], max_value=model.AGE_RANGE[1])
    username = StrictRegexField(model.USERNAME_PATTERN)
    nickname = StrictCharField(max_length=model.NICKNAME_MAX, required=False, default=None, allow_blank=True)
    newsletter = StrictBooleanField(required=False, default=False)
    address = AddressSerializer()
    items = ItemSerializer(many=True, min_length=model.ITEM_COUNT[0], max_length=model.ITEM_COUNT[1])


def flatten(detail, location=()):
    """DRF's error detail — a dict by field name (a ListField's by index, a
    serializer's own errors under non_field_errors), a ListSerializer's list of
    one dict per item, down to lists of texts — as (location, message) pairs."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            yield from flatten(value, location if key == api_settings.NON_FIELD_ERRORS_KEY else (*location, key))
    else:
        for index, entry in enumerate(detail):
            if isinstance(entry, (dict, list)):
                yield from flatten(entry, (*location, index))
            else:
                yield location, str(entry)


@require_POST
def validate_user(request):
    try:
        document = json.loads(request.body)
    except RequestDataTooBig:
        return JsonResponse(model.TOO_LARGE, status=413)
    except ValueError:  # malformed JSON or text that is not UTF-8
        return JsonResponse(model.MALFORMED_JSON, status=400)
    serializer = UserSerializer(data=document)
    if not serializer.is_valid():
        return JsonResponse(model.errors_document(flatten(serializer.errors)), status=422)
    return JsonResponse(model.created_document(serializer.validated_data), status=201)


urlpatterns = [path("validate/user", validate_user)]
