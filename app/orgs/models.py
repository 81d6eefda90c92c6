"""Enterprises and industry chains (产业链) with their member enterprises."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import db, utcnow

chain_member = Table(
    "chain_member",
    db.metadata,
    Column("chain_id", ForeignKey("industry_chain.id", ondelete="CASCADE"), primary_key=True),
    Column("enterprise_id", ForeignKey("enterprise.id", ondelete="CASCADE"), primary_key=True),
)


class Enterprise(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    region: Mapped[str] = mapped_column(String(64), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    chains: Mapped[list[IndustryChain]] = relationship(
        secondary=chain_member, back_populates="members", lazy="selectin", order_by="IndustryChain.name"
    )


class IndustryChain(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    members: Mapped[list[Enterprise]] = relationship(
        secondary=chain_member, back_populates="chains", lazy="selectin", order_by="Enterprise.name"
    )
