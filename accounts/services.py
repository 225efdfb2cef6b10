"""Leaving: deleting a person's account and everything of theirs, except what moderators must keep."""

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from chatapp.history.services import conversations_delete_all
from security.services.moderation import blocked_prompts_unlink


def account_delete(*, user: AbstractBaseUser) -> None:
    """Delete the person, their conversations, messages and request markers; their blocked prompts stay, unlinked."""
    owner = f"user:{user.pk}"
    conversations_delete_all(owner=owner)  # first: should DynamoDB fail, the account is still there to try again
    with transaction.atomic():
        blocked_prompts_unlink(owner=owner)
        user.delete()
