"""Referral: national referral workflow, services directory, referrals with consent,
transnational packages between Maillon instances."""
