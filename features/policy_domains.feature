@policy @domains @needs:office365-graph
Feature: Only users in specific domains can integrate calendar and contacts
  The admin lists the allowed domains, separated by commas. Entries are normalised (case,
  spaces, one trailing dot, internationalised names as punycode) and a user's email domain must
  equal one of them exactly: subdomains are not included implicitly and look-alikes never match.
  Current users inside the allowed domains are unaffected; a current user outside with an
  existing integration is prompted to set it up; new users can integrate only inside. In the
  scenarios, <contoso> stands for the domain of tenant contoso's users.

  Background:
    Given a meeting platform account owned by the admin of tenant "contoso"
    And the admin enables calendar and contacts integration
    And the admin sets the default calendar service to "Office 365" authorized with "Graph API"
    And the admin sets the calendar permission to "Read" and the contacts permission to "None"

  @req:DOMAIN-05 @req:DOMAIN-01
  Scenario: Several domains separated by commas are kept in their normalised form
    When the admin changes the account settings:
      | setting         | value                                                   |
      | allowed_domains | <CONTOSO>. , Bücher.example,partner.example.net,,<contoso> |
    Then the allowed domains are "<contoso>, xn--bcher-kva.example, partner.example.net"
    And the audit trail records "allowed_domains" changed from "(empty)" to "<contoso>, xn--bcher-kva.example, partner.example.net" at the account level by the admin

  @req:DOMAIN-05
  Scenario Outline: A bad entry is refused with a message naming it, and nothing changes (<entry>)
    When the admin tries to change the account settings:
      | setting         | value             |
      | allowed_domains | <contoso>, <entry> |
    Then the change is refused with "invalid_domain" and a message containing "'<entry>'"
    And the policy is unchanged

    Examples:
      | entry                       |
      | exa mple.com                |
      | someone@example.com         |
      | *.example.com               |
      | example.com; example.org    |
      | https://example.com         |
      | com                         |
      | -bad-.example.com           |
      | exa_mple.com                |
      | 192.0.2.1                   |

  @req:DOMAIN-02 @req:DOMAIN-01
  Scenario: A current user inside the allowed domains is unaffected
    Given the first member of tenant "contoso" has connected Office 365 with the default settings
    When the admin changes the account settings:
      | setting         | value                              |
      | allowed_domains | partner.example.net, <CONTOSO>.    |
    Then the integration status is "connected"
    And the meeting list shows every meeting of the user's Office 365 calendar in the next 14 days and nothing else
    When the user signs in with a password using client 5.2.2 on windows
    Then the user gets no prompt

  @req:DOMAIN-02
  Scenario: A current user whose address writes the allowed domain in capitals is unaffected
    Given the user is the first member of tenant "contoso", who writes the domain of their address in capitals
    When the user sets up the calendar integration again with the default service
    And the admin changes the account settings:
      | setting         | value     |
      | allowed_domains | <contoso> |
    Then the integration status is "connected"
    When the user sets up the calendar integration again with the default service
    Then the integration status is "connected"

  @req:DOMAIN-03
  Scenario: A current user outside the allowed domains with an integration is prompted to set it up
    Given the first member of tenant "contoso" has connected Office 365 with the default settings
    When the admin changes the account settings:
      | setting         | value               |
      | allowed_domains | partner.example.net |
    Then the integration status is "reintegration_required"
    And the integration status says "<contoso> is not among the allowed domains"
    And the meeting list is empty
    When the user signs in with a password using client 5.2.2 on windows
    Then the user is prompted to integrate again

  @req:DOMAIN-04
  Scenario: A new user inside the allowed domains can integrate
    Given the admin changes the account settings:
      | setting         | value                          |
      | allowed_domains | partner.example.net, <contoso> |
    And the user is the second member of tenant "contoso"
    When the user tries to set up the calendar integration with the default service from the profile
    Then the integration status is "connected"

  @req:DOMAIN-04 @req:DOMAIN-01
  Scenario Outline: A new user is refused unless their domain is exactly an allowed one (<allowed>)
    Given the admin changes the account settings:
      | setting         | value     |
      | allowed_domains | <allowed> |
    And the user is the second member of tenant "contoso"
    When the user tries to set up the calendar integration with the default service from the profile
    Then the set-up is refused with "domain_not_allowed" and a message containing "<contoso> is not one of them"
    And the user was never sent to sign in at Microsoft
    And nothing changed

    Examples:
      | allowed             |
      | partner.example.net |
      | <contoso>.evil      |
      | not<contoso>        |
      | example.com         |
      | sub.<contoso>       |
