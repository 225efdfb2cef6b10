"""Every table shares one DynamoDB client: PynamoDB would build (and parse the service model for) one per model."""

from chatapp.repositories import ConversationMeta, MessageItem, RequestItem, transaction_connection
from core.dynamodb import dynamodb_client, registered_tables


def test_every_model_and_the_transactions_use_the_one_shared_client():
    models = [*registered_tables(), ConversationMeta, MessageItem, RequestItem]
    clients = {id(model._get_connection().connection.client) for model in models}
    clients.add(id(transaction_connection().client))
    assert clients == {id(dynamodb_client())}


def test_the_shared_client_keeps_the_configured_timeouts_and_retries(settings):
    config = dynamodb_client().meta.config
    assert config.connect_timeout == settings.DYNAMODB_CONNECT_TIMEOUT
    assert config.read_timeout == settings.DYNAMODB_READ_TIMEOUT
    assert config.retries["total_max_attempts"] == 1 + settings.DYNAMODB_MAX_RETRIES
